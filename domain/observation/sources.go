package observation

// The published sources the catalogue's ranges, critical limits and rules are
// taken from. Each Range's Source starts with one of these and adds the figure
// it uses, so a stored interpretation names where its range came from.
const (
	srcNEWS2 = "Royal College of Physicians. National Early Warning Score (NEWS) 2: Standardising the assessment of acute-illness severity in the NHS. London: RCP, December 2017"

	srcPALS = "American Heart Association. Pediatric Advanced Life Support (PALS) Provider Manual, 2006"

	srcNICEHypertension = "NICE guideline NG136, Hypertension in adults: diagnosis and management, 2019 (updated 2023)"

	srcNICEFever = "NICE guideline NG143, Fever in under 5s: assessment and initial management, 2019"

	srcWHOBMI = "World Health Organization. Obesity: preventing and managing the global epidemic. WHO Technical Report Series 894, 2000, Table 2.1"

	srcKost = "Kost GJ. Critical limits for urgent clinician notification at US medical centers. JAMA 1990;263(5):704-707"

	// srcKostTable is Kost's survey as the MLO Clinical Laboratory Reference
	// "Table of critical limits" reproduces it, for the analytes the JAMA
	// abstract does not list.
	srcKostTable = srcKost + ", adult means as reproduced in the MLO Clinical Laboratory Reference \"Table of critical limits\""

	srcRCPath = "The Royal College of Pathologists. The communication of critical and unexpected pathology results (G158), October 2017"

	srcHarmony = "Pathology Harmony (UK) harmonised adult reference intervals; Berg J, Lane V. Pathology Harmony. Ann Clin Biochem 2011;48:195-197"

	srcHarrietLane = "The Harriet Lane Handbook (Johns Hopkins Hospital), 22nd edition, 2021, chemistry reference values"

	srcMerck = "Merck Manual Professional Version, Normal Laboratory Values (blood, plasma and serum chemistry; coagulation)"

	srcWHOHb = "World Health Organization. Haemoglobin concentrations for the diagnosis of anaemia and assessment of severity. WHO/NMH/NHD/MNM/11.1, 2011, Table 1"

	srcWHOPV = "Arber DA et al. The 2016 revision to the WHO classification of myeloid neoplasms and acute leukemia. Blood 2016;127(20):2391-2405, polycythaemia vera major criterion"

	srcKDIGOAKI = "KDIGO Clinical Practice Guideline for Acute Kidney Injury. Kidney Int Suppl 2012;2(1):1-138"

	srcKDIGOCKD = "KDIGO 2012 Clinical Practice Guideline for the Evaluation and Management of Chronic Kidney Disease. Kidney Int Suppl 2013;3(1):1-150, GFR categories G1-G5"

	srcADA = "American Diabetes Association. Standards of Care in Diabetes-2024. Diabetes Care 2024;47(Suppl 1)"

	srcSepsis3 = "Singer M et al. The Third International Consensus Definitions for Sepsis and Septic Shock (Sepsis-3). JAMA 2016;315(8):801-810"

	srcSSC = "Levy MM, Evans LE, Rhodes A. The Surviving Sepsis Campaign Bundle: 2018 update. Crit Care Med 2018;46(6):997-1000"

	srcUDMI = "Thygesen K et al. Fourth Universal Definition of Myocardial Infarction (2018). Eur Heart J 2019;40:237-269"

	srcESCACS = "Collet JP et al. 2020 ESC Guidelines for the management of acute coronary syndromes in patients presenting without persistent ST-segment elevation. Eur Heart J 2021;42:1289-1367, 0 h/1 h algorithm"

	srcARUP = "ARUP Laboratories. Critical Values List, CORP-APPEND-0104A rev. 26, April 2017"

	srcPepys = "Pepys MB, Hirschfield GM. C-reactive protein: a critical update. J Clin Invest 2003;111(12):1805-1812"

	srcACG = "Kwo PY, Cohen SM, Lim JK. ACG Clinical Guideline: Evaluation of Abnormal Liver Chemistries. Am J Gastroenterol 2017;112:18-35"

	srcMeisner = "Meisner M. Update on procalcitonin measurements. Ann Lab Med 2014;34(4):263-273"

	srcISTH = "Schulman S, Kearon C. Definition of major bleeding in clinical investigations of antihemostatic medicinal products in non-surgical patients. J Thromb Haemost 2005;3(4):692-694"

	srcSpasovski = "Spasovski G et al. Clinical practice guideline on diagnosis and treatment of hyponatraemia. Eur J Endocrinol 2014;170(3):G1-G47"

	// srcDeltaConvention marks an implausible-change limit that is this
	// engine's default, not a published figure: CLSI EP33 describes how a
	// laboratory sets delta-check limits but prescribes none.
	srcDeltaConvention = "Laboratory delta-check convention (method: CLSI EP33, Use of Delta Checks in the Medical Laboratory, 1st ed., 2016); the limit is this engine's default for the laboratory to review, not a published figure"

	// srcPossible marks a physiological limit: no publication lists
	// "impossible" values, so the limits are set beyond published extremes of
	// survival and assay range; only entry errors fall outside them.
	srcPossible = "Engine plausibility bound, set beyond published extremes so that only impossible (mis-entered) values are refused"
)
