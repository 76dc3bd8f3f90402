// Command render renders a Helm chart the way `helm template` does, for the subset of Helm
// that the Pilotlight chart uses. It exists so the chart can be tested on machines without a
// `helm` binary: it needs only Go and the Debian packages golang-github-masterminds-sprig-dev
// and golang-gopkg-yaml.v3-dev, built in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o /tmp/render ./deploy/helm/render
//	/tmp/render [-f values.yaml]... [--set a.b=c]... [--name R] [--namespace NS] [--notes] CHART_DIR
//
// What it does like Helm:
//   - values: the chart's values.yaml, then each -f file, then each --set, deep-merged (maps
//     merge key by key, anything else replaces; a null removes the key). Numbers from YAML
//     files become float64, as Helm's YAML→JSON loading makes them, so a template that prints
//     a big number needs `int64` exactly as it would under Helm; --set integers are int64.
//   - the template context: .Values, .Release.{Name,Namespace,Service,IsInstall,IsUpgrade,Revision},
//     .Chart.{Name,Version,AppVersion,Description,Type}, .Template.{Name,BasePath},
//     .Capabilities.KubeVersion.{Version,Major,Minor}.
//   - functions: sprig's TxtFuncMap (less env/expandenv, as Helm) plus include, tpl, toYaml,
//     fromYaml, fromYamlArray, toJson, fromJson, required, lookup (always an empty map).
//   - every file under templates/ is parsed into one template set named
//     `<chart>/templates/<path>`; files whose name starts with `_` are not rendered, nor is
//     NOTES.txt (unless --notes, which prints only NOTES.txt); missing keys render as empty
//     (missingkey=zero and "<no value>" removed); an empty document is dropped; each rendered
//     file is printed after `---` and a `# Source:` comment.
//
// Not supported: subcharts, .Files, Capabilities.APIVersions, hooks, the values schema check
// (the tests validate values.schema.json separately), --set list syntax.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type multiFlag []string

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "render: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var valueFiles, sets multiFlag
	releaseName, namespace := "release-name", "default"
	notes := false
	chartDir := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", a)
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch {
		case a == "-f" || a == "--values":
			v, err = next()
			valueFiles = append(valueFiles, v)
		case a == "--set":
			v, err = next()
			sets = append(sets, v)
		case a == "--name":
			releaseName, err = next()
		case a == "-n" || a == "--namespace":
			namespace, err = next()
		case a == "--notes":
			notes = true
		case strings.HasPrefix(a, "-"):
			return fmt.Errorf("unknown flag %s", a)
		default:
			if chartDir != "" {
				return fmt.Errorf("more than one chart given: %s and %s", chartDir, a)
			}
			chartDir = a
		}
		if err != nil {
			return err
		}
	}
	if chartDir == "" {
		return errors.New("usage: render [-f values.yaml]... [--set a.b=c]... [--name R] [--namespace NS] [--notes] CHART_DIR")
	}

	chartMeta, err := readYAMLMap(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	chartName, _ := chartMeta["name"].(string)
	if chartName == "" {
		return errors.New("Chart.yaml: name is required")
	}

	values := map[string]interface{}{}
	if _, statErr := os.Stat(filepath.Join(chartDir, "values.yaml")); statErr == nil {
		if values, err = readYAMLMap(filepath.Join(chartDir, "values.yaml")); err != nil {
			return err
		}
	}
	for _, f := range valueFiles {
		overlay, err := readYAMLMap(f)
		if err != nil {
			return err
		}
		mergeValues(values, overlay)
	}
	for _, s := range sets {
		if err := applySet(values, s); err != nil {
			return err
		}
	}

	chart := map[string]interface{}{
		"Name":        chartName,
		"Version":     str(chartMeta["version"]),
		"AppVersion":  str(chartMeta["appVersion"]),
		"Description": str(chartMeta["description"]),
		"Type":        str(chartMeta["type"]),
		"APIVersion":  str(chartMeta["apiVersion"]),
	}
	release := map[string]interface{}{
		"Name": releaseName, "Namespace": namespace, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1,
	}
	capabilities := map[string]interface{}{
		"KubeVersion": map[string]interface{}{"Version": "v1.29.0", "Major": "1", "Minor": "29", "GitVersion": "v1.29.0"},
	}

	// Every file under templates/, named as Helm names it.
	templatesDir := filepath.Join(chartDir, "templates")
	var names []string
	sources := map[string]string{}
	err = filepath.Walk(templatesDir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(templatesDir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		name := path.Join(chartName, "templates", filepath.ToSlash(rel))
		names = append(names, name)
		sources[name] = string(data)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)

	root := template.New("gotpl").Option("missingkey=zero")
	root.Funcs(funcMap(root))
	for _, name := range names {
		if _, err := root.New(name).Parse(sources[name]); err != nil {
			return err
		}
	}

	basePath := path.Join(chartName, "templates")
	renderOne := func(name string) (string, error) {
		ctx := map[string]interface{}{
			"Values": values, "Release": release, "Chart": chart, "Capabilities": capabilities,
			"Template": map[string]interface{}{"Name": name, "BasePath": basePath},
		}
		var buf strings.Builder
		if err := root.ExecuteTemplate(&buf, name, ctx); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}

	out := &strings.Builder{}
	for _, name := range names {
		base := path.Base(name)
		isNotes := base == "NOTES.txt"
		if notes != isNotes || strings.HasPrefix(base, "_") {
			continue
		}
		text, err := renderOne(name)
		if err != nil {
			return err
		}
		if notes {
			out.WriteString(text)
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(out, "---\n# Source: %s\n%s\n", name, strings.TrimRight(text, "\n"))
	}
	_, err = os.Stdout.WriteString(out.String())
	return err
}

func str(v interface{}) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// funcMap is sprig's text functions plus Helm's own, as Helm's engine builds it.
func funcMap(t *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	const maxIncludeDepth = 1000
	depth := 0
	f["include"] = func(name string, data interface{}) (string, error) {
		depth++
		defer func() { depth-- }()
		if depth > maxIncludeDepth {
			return "", fmt.Errorf("include %q: rendering too deep (recursive include?)", name)
		}
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		name := "tpl"
		if m, ok := data.(map[string]interface{}); ok {
			if tm, ok := m["Template"].(map[string]interface{}); ok {
				if n, ok := tm["Name"].(string); ok {
					name = n + "#tpl"
				}
			}
		}
		if _, err := clone.New(name).Parse(text); err != nil {
			return "", err
		}
		var buf strings.Builder
		if err := clone.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	f["toYaml"] = toYAML
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		var raw interface{}
		if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
			m["Error"] = err.Error()
			return m
		}
		if raw == nil {
			return m
		}
		if mm, ok := normalize(raw).(map[string]interface{}); ok {
			return mm
		}
		m["Error"] = "not a YAML mapping"
		return m
	}
	f["fromYamlArray"] = func(s string) []interface{} {
		var raw interface{}
		if err := yaml.Unmarshal([]byte(s), &raw); err != nil {
			return []interface{}{err.Error()}
		}
		if a, ok := normalize(raw).([]interface{}); ok {
			return a
		}
		return []interface{}{"not a YAML sequence"}
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return f
}

// toYAML mirrors Helm's toYaml (sigs.k8s.io/yaml: through JSON, so keys are sorted and whole
// numbers print as integers), without the trailing newline.
func toYAML(v interface{}) string {
	data, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var generic interface{}
	if err := dec.Decode(&generic); err != nil {
		return ""
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(jsonNumbers(generic)); err != nil {
		return ""
	}
	_ = enc.Close()
	return strings.TrimSuffix(buf.String(), "\n")
}

func jsonNumbers(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, x := range t {
			t[k] = jsonNumbers(x)
		}
		return t
	case []interface{}:
		for i, x := range t {
			t[i] = jsonNumbers(x)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	m, ok := normalize(raw).(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: not a YAML mapping", file)
	}
	return m, nil
}

// normalize turns decoded YAML into what Helm's loader yields: string-keyed maps and, as with
// its YAML→JSON→Go path, every number a float64.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []interface{}:
		for i, x := range t {
			t[i] = normalize(x)
		}
		return t
	case int:
		return float64(t)
	case int64:
		return float64(t)
	case uint64:
		return float64(t)
	}
	return v
}

// mergeValues overlays src onto dst: maps merge key by key, anything else replaces, and a
// null in src removes the key (Helm's way to delete a default).
func mergeValues(dst, src map[string]interface{}) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				mergeValues(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// applySet applies one `--set a.b=c[,d=e]` as Helm's strvals does for scalars.
func applySet(values map[string]interface{}, expr string) error {
	for _, part := range strings.Split(expr, ",") {
		eq := strings.IndexByte(part, '=')
		if eq <= 0 {
			return fmt.Errorf("--set %q: expected key=value", part)
		}
		keys := strings.Split(part[:eq], ".")
		raw := part[eq+1:]
		var val interface{}
		switch {
		case raw == "true":
			val = true
		case raw == "false":
			val = false
		case raw == "null":
			val = nil
		default:
			if i, err := strconv.ParseInt(raw, 10, 64); err == nil && (raw == "0" || !strings.HasPrefix(raw, "0")) {
				val = i
			} else {
				val = raw
			}
		}
		m := values
		for _, k := range keys[:len(keys)-1] {
			if strings.ContainsAny(k, "[]") {
				return fmt.Errorf("--set %q: list syntax is not supported", part)
			}
			next, ok := m[k].(map[string]interface{})
			if !ok {
				next = map[string]interface{}{}
				m[k] = next
			}
			m = next
		}
		last := keys[len(keys)-1]
		if val == nil {
			delete(m, last)
		} else {
			m[last] = val
		}
	}
	return nil
}
