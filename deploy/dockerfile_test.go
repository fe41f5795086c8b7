package deploy

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY …
	args string
}

func parseDockerfile(t *testing.T) []instruction {
	t.Helper()
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(readFile(t, "Dockerfile")), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// execForm reads a JSON-array argument (ENTRYPOINT ["/zarish"]).
func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		t.Errorf("%s %s: want the exec (JSON array) form", in.cmd, in.args)
	}
	return v
}

func TestDockerfile(t *testing.T) {
	ins := parseDockerfile(t)
	var stages []int
	for i, in := range ins {
		if in.cmd == "FROM" {
			stages = append(stages, i)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%d FROM lines, want a build stage and a final one", len(stages))
	}
	build, final := ins[stages[0]:stages[len(stages)-1]], ins[stages[len(stages)-1]:]
	buildName := ""
	if f := strings.Fields(ins[stages[0]].args); len(f) == 3 && strings.EqualFold(f[1], "AS") {
		buildName = f[2]
	}
	finalBase := strings.Fields(final[0].args)[0]

	var goBuild string
	for _, in := range build {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			goBuild = in.args
		}
	}
	if !strings.Contains(goBuild, "./cmd/zarish") || !strings.Contains(goBuild, "CGO_ENABLED=0") {
		t.Errorf("build stage: want one static go build of ./cmd/zarish, got %q", goBuild)
	}
	if finalBase == "scratch" && !regexp.MustCompile(`-tags[ =]\S*timetzdata`).MatchString(goBuild) {
		t.Error("a scratch image has no time zone database: build with -tags timetzdata (the procedure rotas load locations)")
	}

	var user string
	var entrypoint, cmdArgs []string
	var envNames []string
	for _, in := range final {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = execForm(t, in)
		case "CMD":
			cmdArgs = execForm(t, in)
		case "RUN":
			t.Errorf("final stage: RUN %s: the final image has no shell; build everything in the build stage", in.args)
		case "ADD":
			t.Errorf("final stage: ADD %s: copy from the build stage", in.args)
		case "COPY":
			from, rest := "", in.args
			for strings.HasPrefix(rest, "--") {
				var flag string
				flag, rest, _ = strings.Cut(rest, " ")
				if v, ok := strings.CutPrefix(flag, "--from="); ok {
					from = v
				}
			}
			if from == "" || from != buildName {
				t.Errorf("final stage: COPY %s: copy only from the build stage %q", in.args, buildName)
			}
			src := strings.Fields(rest)[0]
			if !slices.Contains([]string{"/out/zarish", "/etc/ssl/certs/ca-certificates.crt", "/out/data"}, src) {
				t.Errorf("final stage: COPY %s: the image holds the binary, the CA certificates and the empty DICOM folder, nothing else", src)
			}
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				name, _, _ := strings.Cut(kv, "=")
				envNames = append(envNames, name)
			}
		case "HEALTHCHECK":
			// The image has no shell and no HTTP client: the probe is the
			// binary's own health command, asking the process beside it.
			_, probe, _ := strings.Cut(in.args, "CMD ")
			hc := strings.Fields(probe)
			if strings.HasPrefix(strings.TrimSpace(probe), "[") {
				hc = execForm(t, instruction{"HEALTHCHECK CMD", strings.TrimSpace(probe)})
			}
			if len(hc) < 2 || hc[0] != "/zarish" {
				t.Errorf("HEALTHCHECK %s: want CMD /zarish <role> …", in.args)
			} else if _, ok := code(t).roles[hc[1]]; !ok {
				t.Errorf("HEALTHCHECK %s: %q is not a role of the binary", in.args, hc[1])
			} else if hc[1] != healthRole {
				t.Errorf("HEALTHCHECK %s: %q does not probe a running process", in.args, hc[1])
			}
		}
	}
	if !regexp.MustCompile(`^[0-9]+(:[0-9]+)?$`).MatchString(user) || strings.HasPrefix(user, "0") {
		t.Errorf("USER %q: want a numeric non-root uid (a runAsNonRoot pod refuses a named user)", user)
	}
	if !slices.Equal(entrypoint, []string{"/zarish"}) {
		t.Errorf("ENTRYPOINT %v, want [/zarish]: the role is the command", entrypoint)
	}
	if !slices.Equal(cmdArgs, []string{"api"}) {
		t.Errorf("CMD %v, want [api]", cmdArgs)
	}
	if len(cmdArgs) > 0 {
		if _, ok := code(t).roles[cmdArgs[0]]; !ok {
			t.Errorf("CMD %v: not a role of the binary", cmdArgs)
		}
	}
	checkConfigNames(t, "Dockerfile ENV", envNames)
	if _, ok := code(t).roles["health"]; ok {
		hasCheck := slices.ContainsFunc(final, func(in instruction) bool { return in.cmd == "HEALTHCHECK" })
		if !hasCheck {
			t.Error("the binary has a health subcommand: give the image a HEALTHCHECK running it")
		}
	}
}
