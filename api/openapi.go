package api

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v4"
)

// openAPISource is the OpenAPI document's source: openapi.yaml is the base
// (info, security schemes, the shared components, the identity routes), and
// each service's fragment under openapi/ holds its paths and its own
// components.
//
//go:embed openapi.yaml openapi/*.yaml
var openAPISource embed.FS

var openAPI = sync.OnceValues(func() ([]byte, error) {
	doc, err := LoadOpenAPI()
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
})

// LoadOpenAPI merges the API's OpenAPI document from its source, then parses
// and validates it.
func LoadOpenAPI() (*openapi3.T, error) {
	merged, err := mergeOpenAPI(openAPISource)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(merged)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	return doc, nil
}

// mergeOpenAPI is src's openapi.yaml with the paths and components of every
// openapi/*.yaml added, as one YAML document, so that a fragment's $ref to
// '#/components/…' names the merged document's. A name defined twice is an
// error, never an override.
func mergeOpenAPI(src fs.FS) ([]byte, error) {
	base, err := readYAMLMap(src, "openapi.yaml")
	if err != nil {
		return nil, err
	}
	fragments, err := fs.Glob(src, "openapi/*.yaml")
	if err != nil {
		return nil, err
	}
	definedIn := map[string]string{} // "paths./v1/patients" → the file defining it
	for _, k := range []string{"paths", "components"} {
		section, err := entry(base, k)
		if err != nil {
			return nil, fmt.Errorf("openapi.yaml: %w", err)
		}
		if err := define(definedIn, section, "openapi.yaml", k, k == "components"); err != nil {
			return nil, err
		}
	}
	for _, name := range fragments {
		frag, err := readYAMLMap(src, name)
		if err != nil {
			return nil, err
		}
		if err := mergeFragment(base, frag, name, definedIn); err != nil {
			return nil, err
		}
	}
	return yaml.Marshal(base)
}

// mergeFragment adds the paths and components of frag, read from file, to base.
func mergeFragment(base, frag *yaml.Node, file string, definedIn map[string]string) error {
	for i := 0; i+1 < len(frag.Content); i += 2 {
		key, value := frag.Content[i].Value, frag.Content[i+1]
		if key != "paths" && key != "components" {
			return fmt.Errorf("%s: %s: a fragment holds only paths and components", file, key)
		}
		if value.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: %s is not a map", file, key)
		}
		if err := define(definedIn, value, file, key, key == "components"); err != nil {
			return err
		}
		into, err := entry(base, key)
		if err != nil {
			return fmt.Errorf("openapi.yaml: %w", err)
		}
		if key == "paths" {
			into.Content = append(into.Content, value.Content...)
			continue
		}
		for j := 0; j+1 < len(value.Content); j += 2 {
			section, err := entry(into, value.Content[j].Value)
			if err != nil {
				return fmt.Errorf("openapi.yaml: components: %w", err)
			}
			section.Content = append(section.Content, value.Content[j+1].Content...)
		}
	}
	return nil
}

// define records that file defines the names in m (a path, or with nested
// a component in each section of m) under where, refusing any defined before.
func define(definedIn map[string]string, m *yaml.Node, file, where string, nested bool) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		name, value := where+"."+m.Content[i].Value, m.Content[i+1]
		if nested {
			if value.Kind != yaml.MappingNode {
				return fmt.Errorf("%s: %s is not a map", file, name)
			}
			if err := define(definedIn, value, file, name, false); err != nil {
				return err
			}
			continue
		}
		if other, ok := definedIn[name]; ok {
			return fmt.Errorf("%s: %s is defined in %s already", file, name, other)
		}
		definedIn[name] = file
	}
	return nil
}

// entry is the map under key in the map m, added empty when m has none.
func entry(m *yaml.Node, key string) (*yaml.Node, error) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if v := m.Content[i+1]; v.Kind == yaml.MappingNode {
				return v, nil
			}
			return nil, fmt.Errorf("%s is not a map", key)
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v, nil
}

// readYAMLMap reads the YAML document in file, which must be a map.
func readYAMLMap(src fs.FS, file string) (*yaml.Node, error) {
	raw, err := fs.ReadFile(src, file)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New(file + ": not a YAML map")
	}
	return doc.Content[0], nil
}

func serveOpenAPI(c *gin.Context) {
	body, err := openAPI()
	if err != nil {
		abort(c, http.StatusInternalServerError, CodeInternal, "The API document failed to load.")
		return
	}
	c.Data(http.StatusOK, "application/json", body)
}
