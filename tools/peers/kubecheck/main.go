// Command kubecheck checks rendered Kubernetes manifests against the Kubernetes API types: every
// YAML document of its input (a file, or standard input) is strictly decoded into its typed
// struct from k8s.io/api (apps/v1 DaemonSet, autoscaling/v2 HorizontalPodAutoscaler, …) by
// client-go's scheme, so an unknown or duplicated field, a value of the wrong type, or an
// apiVersion/kind that Kubernetes does not serve fails the check, as the API server would refuse
// the object. Two objects of one kind, namespace and name fail it too.
//
// Usage: kubecheck [FILE]
// Prints one line per object ("ok apps/v1 DaemonSet pl-node") or per problem, naming the
// document (and its "# Source:" template when there is one); exits 1 when any was found.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

func main() {
	in := io.Reader(os.Stdin)
	switch len(os.Args) {
	case 1:
	case 2:
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubecheck:", err)
			os.Exit(2)
		}
		defer f.Close()
		in = f
	default:
		fmt.Fprintln(os.Stderr, "usage: kubecheck [FILE]")
		os.Exit(2)
	}
	problems, err := check(in, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecheck:", err)
		os.Exit(2)
	}
	if problems > 0 {
		fmt.Fprintf(os.Stderr, "kubecheck: %d problem(s)\n", problems)
		os.Exit(1)
	}
}

// check decodes every document of in, printing a line per object or problem; it returns the
// number of problems.
func check(in io.Reader, out io.Writer) (int, error) {
	// EnableStrict: unknown and duplicate fields are errors (runtime.IsStrictDecodingError),
	// not silently dropped as by the default deserializer.
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	seen := map[string]int{}
	problems := 0
	// Documents are numbered from 1 as they come, leaving out empty ones (`helm template`
	// starts its output with a separator).
	for doc := 0; ; {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return problems, nil
		}
		if err != nil {
			return problems, fmt.Errorf("after document %d: %w", doc, err)
		}
		if empty(raw) {
			continue
		}
		doc++
		where := fmt.Sprintf("document %d", doc)
		if src := source(raw); src != "" {
			where += " (" + src + ")"
		}
		obj, gvk, err := decoder.Decode(raw, nil, nil)
		if err != nil {
			problems++
			fmt.Fprintf(out, "error %s: %v\n", where, err)
			continue
		}
		accessor, ok := obj.(metav1.Object)
		if !ok {
			problems++
			fmt.Fprintf(out, "error %s: %s is not an object with metadata\n", where, gvk)
			continue
		}
		id := describe(gvk.GroupVersion().String(), gvk.Kind, accessor)
		if accessor.GetName() == "" {
			problems++
			fmt.Fprintf(out, "error %s: %s has no metadata.name\n", where, id)
			continue
		}
		if first, dup := seen[id]; dup {
			problems++
			fmt.Fprintf(out, "error %s: %s is also document %d\n", where, id, first)
			continue
		}
		seen[id] = doc
		fmt.Fprintf(out, "ok %s\n", id)
	}
}

func describe(apiVersion, kind string, o metav1.Object) string {
	name := o.GetName()
	if ns := o.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return fmt.Sprintf("%s %s %s", apiVersion, kind, name)
}

// source is the template `helm template` names in its "# Source: ..." comment, if any.
func source(raw []byte) string {
	for _, line := range strings.Split(string(raw), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
			return s
		}
	}
	return ""
}

// empty reports a document with nothing but comments and blank lines.
func empty(raw []byte) bool {
	for _, line := range bytes.Split(raw, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			return false
		}
	}
	return true
}
