package api

// fuzzLevel is one escalation level, as the policy seeds send it.
const fuzzLevel = `{"recipients":[{"kind":"on-call","role":"nurse"}],"channels":["inapp"],"ackTimeoutSeconds":60}`

// routeSeeds are one valid request per route: the body of each write by
// "METHOD /path" (JSON, but the token endpoint's form) and the query of each
// read by path. They name the patient pid, the practitioner someone and the
// escalation policy "critical", which the caller has stored. FuzzRoutes seeds
// its corpus with them; TestInjectionStringsInEveryTextField varies each of
// their fields.
func routeSeeds(pid, someone string) (bodies, queries map[string]string) {
	bodies = map[string]string{
		"POST /v1/patients":                       patientBody("Salma", "Khatun"),
		"PUT /v1/patients/:id":                    patientBody("Salma", "Khatun-Ali"),
		"POST /v1/clinical/encounters":            `{"patientId":"` + pid + `","class":"emergency","location":"ed-1","reason":"chest pain"}`,
		"POST /v1/clinical/encounters/:id/triage": `{"by":"` + someone + `","acuity":2,"chiefComplaint":"chest pain"}`,
		"POST /v1/clinical/encounters/:id/notes": `{"type":"progress","authorId":"` + someone + `","text":"Stable.",
			"sections":[{"title":"Plan","text":"Observe."}]}`,
		"PUT /v1/clinical/notes/:id":        `{"authorId":"` + someone + `","text":"Stable overnight."}`,
		"POST /v1/clinical/notes/:id/amend": `{"authorId":"` + someone + `","reason":"typo","text":"Stable."}`,
		"POST /v1/clinical/care-plans": `{"patientId":"` + pid + `","title":"Pressure care","unit":"ward-3","status":"active",
			"period":{"start":"2026-11-25T08:00:00Z"},"goals":[{"description":"Skin intact"}],
			"activities":[{"title":"Reposition","ownerId":"` + someone + `","schedule":{"dueAt":"2026-11-25T10:00:00Z","repeat":"PT2H"}}]}`,
		"PUT /v1/clinical/care-plans/:id":                                `{"title":"Pressure care","unit":"ward-3","status":"active","period":{"start":"2026-11-25T08:00:00Z"}}`,
		"POST /v1/clinical/care-plans/:id/activities/:activityId/status": `{"status":"completed","by":"` + someone + `"}`,
		"POST /v1/patients/:id/allergies":                                allergyJSON("Penicillin", "high"),
		"PUT /v1/clinical/allergies/:id":                                 allergyJSON("Penicillin", "low"),
		"POST /v1/clinical/cds-services/:id":                             `{"hook":"patient-view","hookInstance":"` + someone + `","context":{"patientId":"` + pid + `"}}`,
		"POST /v1/clinical/practitioners":                                `{"name":"Nurse Joy","roles":["nurse"],"units":["ward-3"],"contacts":[{"system":"email","value":"joy@example.org"}]}`,
		"POST /v1/clinical/on-call":                                      `{"practitionerId":"` + someone + `","role":"nurse","unit":"ward-3","from":"2026-11-25T08:00:00Z","to":"2026-11-25T20:00:00Z"}`,
		"POST /v1/notifications/policies":                                `{"id":"ward-3","name":"Ward 3","levels":[` + fuzzLevel + `],"repeat":1}`,
		"POST /v1/notifications/routing-rules":                           `{"category":"lab","minSeverity":"urgent","policyId":"critical"}`,
		"POST /v1/notifications/alerts": `{"patientId":"` + pid + `","unit":"ward-3","severity":"critical","category":"lab",
			"message":"Potassium 6.9","source":"lab/1","policyId":"critical"}`,
		"POST /v1/notifications/alerts/:id/acknowledge": `{"practitionerId":"` + someone + `"}`,
		"POST /v1/notifications/alerts/:id/resolve":     `{"practitionerId":"` + someone + `","note":"treated"}`,
		"POST /v1/audit/events": `{"action":"security","outcome":"denied","entityType":"Device","description":"badge refused",
			"actor":{"subject":"guard","roles":["security"]}}`,
		"POST /v1/auth/oauth2/token": "grant_type=client_credentials&scope=system%2FPatient.read",
		"POST /v1/observations":      `{"patientId":"` + pid + `","code":"8867-4","value":{"value":88,"unit":"/min"},"effectiveAt":"2026-11-25T08:00:00Z"}`,
		"POST /v1/observations/batch": `{"items":[{"patientId":"` + pid + `","code":"8310-5","value":{"value":101.3,"unit":"[degF]"},"effectiveAt":"2026-11-25T08:00:00Z"},
			{"patientId":"` + pid + `","code":"85354-9","effectiveAt":"2026-11-25T08:01:00Z","components":[{"code":"8480-6","value":105,"unit":"mm[Hg]"},{"code":"8462-4","value":70,"unit":"mm[Hg]"}]}]}`,
		"POST /v1/observations/news2/calculate":   `{"respirationRate":18,"spo2":96,"spo2Scale":1,"supplementalOxygen":false,"systolicBP":120,"pulse":80,"consciousness":"A","temperature":37.1}`,
		"POST /v1/patients/:id/spo2-scale":        `{"scale":2,"reason":"hypercapnic respiratory failure"}`,
		"POST /v1/medications/interactions/check": `{"medications":[{"name":"warfarin"},{"code":"5640"},{"name":"amoxicilin"}]}`,
		"POST /v1/medications/dosage/calculate":   `{"medication":"gentamicin","weightKg":60,"ageYears":70,"sex":"male","creatinineMicromolL":206.1}`,
		"POST /v1/clinical/cds-services/order-sign": `{"hook":"order-sign","hookInstance":"` + someone + `","context":{"patientId":"` + pid + `",
			"draftOrders":{"resourceType":"Bundle","entry":[{"resource":` + fuzzDraftOrder + `}]}}}`,
		"POST /v1/clinical/cds-services/order-select": `{"hook":"order-select","hookInstance":"` + someone + `","context":{"patientId":"` + pid + `",
			"selections":["MedicationRequest/d1"],"draftOrders":{"resourceType":"Bundle","entry":[{"resource":` + fuzzDraftOrder + `}]}}}`,

		"POST /v1/diagnostics/orders": `{"patientId":"` + pid + `","tests":["24362-6","58410-2"],"priority":"stat",
			"clinicalInformation":"AKI?","specimenNotes":"not from the drip arm"}`,
		"POST /v1/diagnostics/orders/:id/cancel":                              `{"by":"` + someone + `","reason":"ordered in error"}`,
		"POST /v1/diagnostics/orders/:id/specimens":                           `{"by":"` + someone + `","container":"sst-gold","accessionId":"A26-0001","collectedAt":"2026-11-25T08:00:00Z"}`,
		"POST /v1/diagnostics/orders/:id/specimens/:accession/receive":        `{"by":"` + someone + `"}`,
		"POST /v1/diagnostics/orders/:id/specimens/:accession/reject":         `{"by":"` + someone + `","reason":"haemolysed","note":"pink serum"}`,
		"POST /v1/diagnostics/orders/:id/results":                             `{"by":"` + someone + `","observations":[` + fuzzResult + `],"observationIds":["` + someone + `"]}`,
		"POST /v1/diagnostics/reports/:id/flags/:flagId/review":               `{"by":"` + someone + `","note":"the repeat agrees"}`,
		"POST /v1/diagnostics/reports/:id/verify":                             `{"by":"` + someone + `","conclusion":"Normal renal function.","codes":[{"system":"http://snomed.info/sct","code":"17621005","display":"Normal"}]}`,
		"POST /v1/diagnostics/reports/:id/release":                            `{"by":"` + someone + `"}`,
		"POST /v1/diagnostics/reports/:id/open":                               `{"by":"` + someone + `"}`,
		"POST /v1/diagnostics/reports/:id/amend":                              `{"by":"` + someone + `","reason":"advice","addendum":"Repeat in 3 months.","conclusion":"Normal.","codes":[]}`,
		"POST /v1/diagnostics/reports/:id/correct":                            `{"by":"` + someone + `","reason":"transcription","conclusion":"Hyperkalaemia.","observations":[` + fuzzResult + `]}`,
		"POST /v1/diagnostics/reports/:id/withdraw":                           `{"by":"` + someone + `","reason":"wrong patient"}`,
		"POST /v1/diagnostics/reports/:id/callbacks/:observationId/attempt":   `{"by":"` + someone + `","to":"` + someone + `","reached":true,"note":"ward phone","at":"2026-11-25T08:05:00Z"}`,
		"POST /v1/diagnostics/reports/:id/callbacks/:observationId/confirm":   `{"by":"` + someone + `","value":"6.8 mmol/L","receiver":"` + someone + `"}`,
		"POST /v1/diagnostics/reports/:id/callbacks/:observationId/read-back": `{"value":"6.8 mmol/L"}`,
		"POST /v1/diagnostics/reports/:id/callbacks/:observationId/close":     `{"by":"` + someone + `","outcome":"unable-to-reach","note":"escalated to the consultant"}`,
	}
	queries = map[string]string{
		"/v1/patients":                    "name=salma&limit=5",
		"/v1/notifications/inbox":         "practitionerId=" + someone,
		"/v1/notifications/stream":        "practitionerId=" + someone,
		"/v1/audit/reports/disclosures":   "patientId=" + pid,
		"/v1/audit/reports/user-activity": "actor=admin",
		"/v1/observations":                "patientId=" + pid + "&code=8867-4",
		"/v1/observations/latest":         "patientId=" + pid + "&codes=8867-4,8310-5",
		"/v1/observations/trends":         "patientId=" + pid + "&code=8867-4&bucket=PT1H",
		"/v1/observations/news2":          "patientId=" + pid,
		"/v1/observations/news2/history":  "patientId=" + pid + "&from=2026-11-30T00:00:00Z&to=2026-12-01T00:00:00Z",
		"/v1/medications/drugs":           "q=warf&limit=5",
		"/v1/diagnostics/reports":         "patientId=" + pid + "&status=final&category=laboratory&limit=5",
		"/v1/diagnostics/metrics":         "priority=stat&test=24362-6",
		"/v1/diagnostics/catalogue":       "q=renal&kind=panel",
	}
	return bodies, queries
}
