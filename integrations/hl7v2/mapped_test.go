package hl7v2

// mapped returns the fields that later code maps from a message, in the
// shape testdata/oracle/oracle.mjs prints them, so that the two readings
// compare field by field: per segment, field number → value, where a value
// is a string (a whole first repetition), a list of component strings, or,
// for PID-3, a list of repetitions.
func mapped(m *Message) map[string]any {
	out := map[string]any{"msh": nil, "pid": nil, "pv1": nil, "orc": nil, "obr": nil, "obx": []any{}}
	msh := map[string]any{}
	for _, n := range []int{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 18} {
		msh[itoa(n)] = comps(m.First("MSH").Field(n))
	}
	out["msh"] = msh
	if pid := m.First("PID"); pid != nil {
		reps := []any{}
		for _, r := range pid.Field(3).Reps() {
			reps = append(reps, []string{r.Comp(1).Text(), r.Comp(4).Text(), r.Comp(5).Text()})
		}
		out["pid"] = map[string]any{
			"3": reps,
			"5": pick(pid.Field(5), 1, 2),
			"7": pick(pid.Field(7), 1),
			"8": pid.Field(8).Text(),
		}
	}
	if pv1 := m.First("PV1"); pv1 != nil {
		out["pv1"] = map[string]any{"2": pv1.Field(2).Text(), "3": comps(pv1.Field(3))}
	}
	if orc := m.First("ORC"); orc != nil {
		out["orc"] = map[string]any{"2": comps(orc.Field(2)), "3": comps(orc.Field(3))}
	}
	if obr := m.First("OBR"); obr != nil {
		out["obr"] = map[string]any{
			"2":  comps(obr.Field(2)),
			"3":  comps(obr.Field(3)),
			"4":  pick(obr.Field(4), 1, 2, 3),
			"7":  pick(obr.Field(7), 1),
			"25": obr.Field(25).Text(),
		}
	}
	obxs := []any{}
	for _, obx := range m.All("OBX") {
		obxs = append(obxs, map[string]any{
			"2":  obx.Field(2).Text(),
			"3":  pick(obx.Field(3), 1, 2, 3),
			"5":  obx.Field(5).Text(),
			"6":  pick(obx.Field(6), 1),
			"7":  obx.Field(7).Text(),
			"8":  obx.Field(8).Text(),
			"11": obx.Field(11).Text(),
			"14": pick(obx.Field(14), 1),
		})
	}
	out["obx"] = obxs
	return out
}

// comps returns the components of a field's first repetition, none for an
// empty field.
func comps(f Field) []string {
	out := []string{}
	if f.IsEmpty() {
		return out
	}
	for _, c := range f.Rep(1).Comps() {
		out = append(out, c.Text())
	}
	if len(out) == 0 {
		out = append(out, "") // a field whose first repetition is empty
	}
	return out
}

// pick returns the given components of a field's first repetition.
func pick(f Field, idx ...int) []string {
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = f.Comp(j).Text()
	}
	return out
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
