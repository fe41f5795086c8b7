package deploy

// Reading deploy/kubernetes: the manifests, decoded into the parts the
// tests check.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

const k8sDir = "kubernetes"

// secretExample is the one manifest not applied: the Secret's shape.
const secretExample = "secret.example.yaml"

// image is the name every zarish container uses; kustomization.yaml's
// images entry sets the registry and tag.
const image = "zarish"

type objectMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

// manifest is one YAML document of deploy/kubernetes.
type manifest struct {
	file       string
	node       *yaml.Node
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
}

func (m manifest) String() string { return m.file + ": " + m.Kind + " " + m.Metadata.Name }

func (m manifest) decode(t *testing.T, v any) {
	t.Helper()
	if err := m.node.Decode(v); err != nil {
		t.Fatalf("%s: %v", m, err)
	}
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	TCPSocket *struct {
		Port string `yaml:"port"`
	} `yaml:"tcpSocket"`
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Lifecycle      struct {
		PreStop *struct {
			Sleep *struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
	} `yaml:"securityContext"`
}

func (c container) port(name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

type podTemplate struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
		SecurityContext               struct {
			RunAsNonRoot *bool `yaml:"runAsNonRoot"`
			RunAsUser    *int  `yaml:"runAsUser"`
		} `yaml:"securityContext"`
		Containers []container `yaml:"containers"`
	} `yaml:"spec"`
}

type workload struct {
	m    manifest
	Spec struct {
		Replicas *int          `yaml:"replicas"`
		Selector labelSelector `yaml:"selector"`
		Template podTemplate   `yaml:"template"`
	} `yaml:"spec"`
	role string
}

type hpa struct {
	m    manifest
	Spec struct {
		ScaleTargetRef struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Name       string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas int `yaml:"minReplicas"`
		MaxReplicas int `yaml:"maxReplicas"`
		Metrics     []struct {
			Type     string `yaml:"type"`
			Resource *struct {
				Name   string `yaml:"name"`
				Target struct {
					Type               string `yaml:"type"`
					AverageUtilization int    `yaml:"averageUtilization"`
				} `yaml:"target"`
			} `yaml:"resource"`
		} `yaml:"metrics"`
	} `yaml:"spec"`
}

type networkPolicy struct {
	m    manifest
	Spec struct {
		PodSelector struct {
			MatchLabels      map[string]string `yaml:"matchLabels"`
			MatchExpressions []struct {
				Key      string   `yaml:"key"`
				Operator string   `yaml:"operator"`
				Values   []string `yaml:"values"`
			} `yaml:"matchExpressions"`
		} `yaml:"podSelector"`
		PolicyTypes []string `yaml:"policyTypes"`
		Ingress     []npRule `yaml:"ingress"`
		Egress      []npRule `yaml:"egress"`
	} `yaml:"spec"`
}

type pdb struct {
	m    manifest
	Spec struct {
		MinAvailable   any           `yaml:"minAvailable"`
		MaxUnavailable any           `yaml:"maxUnavailable"`
		Selector       labelSelector `yaml:"selector"`
	} `yaml:"spec"`
}

type service struct {
	m    manifest
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type kustomizeImage struct {
	Name    string `yaml:"name"`
	NewName string `yaml:"newName"`
	NewTag  string `yaml:"newTag"`
}

type npRule struct {
	Ports []struct {
		Protocol string `yaml:"protocol"`
		Port     int    `yaml:"port"`
	} `yaml:"ports"`
	From []any `yaml:"from"`
	To   []any `yaml:"to"`
}

// selects reports whether the policy's pod selector matches labels.
func (p networkPolicy) selects(labels map[string]string) bool {
	for k, v := range p.Spec.PodSelector.MatchLabels {
		if labels[k] != v {
			return false
		}
	}
	for _, e := range p.Spec.PodSelector.MatchExpressions {
		if e.Operator != "In" || !slices.Contains(e.Values, labels[e.Key]) {
			return false
		}
	}
	return true
}

// ports lists the TCP (or, with udp, UDP) ports the rules open.
func ports(rules []npRule, protocol string) []int {
	var out []int
	for _, r := range rules {
		for _, p := range r.Ports {
			if cmpOr(p.Protocol, "TCP") == protocol {
				out = append(out, p.Port)
			}
		}
	}
	sort.Ints(out)
	return slices.Compact(out)
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// decodeAll reads every YAML document of a file.
func decodeAll(t *testing.T, path string) []manifest {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, path)))
	var out []manifest
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		m := manifest{file: filepath.Base(path), node: &n}
		if err := n.Decode(&m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if m.Kind == "" {
			continue // an empty document
		}
		if m.APIVersion == "" || m.Metadata.Name == "" {
			t.Errorf("%s: a document without apiVersion or metadata.name", path)
		}
		out = append(out, m)
	}
	return out
}

// cluster is deploy/kubernetes, parsed.
type cluster struct {
	files       []string // the *.yaml beside kustomization.yaml
	resources   []string // what kustomization.yaml lists
	images      []kustomizeImage
	manifests   []manifest
	deployments []*workload
	jobs        []*workload
	hpas        []*hpa
	pdbs        []*pdb
	policies    []*networkPolicy
	services    []*service
	configMap   map[string]string // the zarish ConfigMap
	secret      map[string]string // secret.example.yaml's stringData
}

func loadCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{}
	var k struct {
		Kind      string           `yaml:"kind"`
		Resources []string         `yaml:"resources"`
		Images    []kustomizeImage `yaml:"images"`
	}
	if err := yaml.Unmarshal(readFile(t, filepath.Join(k8sDir, "kustomization.yaml")), &k); err != nil {
		t.Fatal(err)
	}
	if k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: kind %q, want Kustomization", k.Kind)
	}
	c.resources, c.images = k.Resources, k.Images
	paths, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, p := range paths {
		name := filepath.Base(p)
		if name == "kustomization.yaml" {
			continue
		}
		c.files = append(c.files, name)
		docs := decodeAll(t, p)
		if name == secretExample {
			for _, m := range docs {
				var s struct {
					StringData map[string]string `yaml:"stringData"`
				}
				m.decode(t, &s)
				c.secret = s.StringData
			}
			continue
		}
		c.manifests = append(c.manifests, docs...)
	}
	for _, m := range c.manifests {
		switch m.Kind {
		case "Deployment", "Job":
			w := &workload{m: m}
			m.decode(t, w)
			if len(w.Spec.Template.Spec.Containers) > 0 && len(w.Spec.Template.Spec.Containers[0].Args) > 0 {
				w.role = w.Spec.Template.Spec.Containers[0].Args[0]
			}
			if m.Kind == "Job" {
				c.jobs = append(c.jobs, w)
			} else {
				c.deployments = append(c.deployments, w)
			}
		case "HorizontalPodAutoscaler":
			h := &hpa{m: m}
			m.decode(t, h)
			c.hpas = append(c.hpas, h)
		case "PodDisruptionBudget":
			p := &pdb{m: m}
			m.decode(t, p)
			c.pdbs = append(c.pdbs, p)
		case "NetworkPolicy":
			p := &networkPolicy{m: m}
			m.decode(t, p)
			c.policies = append(c.policies, p)
		case "Service":
			v := &service{m: m}
			m.decode(t, v)
			c.services = append(c.services, v)
		case "ConfigMap":
			var cm struct {
				Data map[string]string `yaml:"data"`
			}
			m.decode(t, &cm)
			if m.Metadata.Name == "zarish" {
				c.configMap = cm.Data
			}
		}
	}
	if c.configMap == nil {
		t.Fatal("no ConfigMap zarish")
	}
	if c.secret == nil {
		t.Fatalf("%s: no stringData", secretExample)
	}
	return c
}

// env is what the zarish containers see: the ConfigMap and the Secret.
func (c *cluster) env() map[string]string {
	out := map[string]string{}
	for k, v := range c.configMap {
		out[k] = v
	}
	for k, v := range c.secret {
		out[k] = v
	}
	return out
}

// workloads are the Deployments and Jobs.
func (c *cluster) workloads() []*workload { return slices.Concat(c.deployments, c.jobs) }

// portsOf are the ports of a host:port, URL or comma-separated list of them.
func portsOf(t *testing.T, name, v string) []int {
	t.Helper()
	var out []int
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if u, err := url.Parse(part); err == nil && u.Host != "" {
			part = u.Host
		}
		_, p, err := net.SplitHostPort(part)
		n, perr := strconv.Atoi(p)
		if err != nil || perr != nil {
			t.Fatalf("%s=%q: no port in %q", name, v, part)
		}
		out = append(out, n)
	}
	return out
}
