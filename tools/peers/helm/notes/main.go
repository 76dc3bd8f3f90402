// Command helm-notes prints a chart's rendered NOTES.txt: what `helm install` shows under
// "NOTES:". `helm template` never prints the notes, and `helm install --dry-run` wants a cluster,
// so this runs Helm's own install action in the client-only mode `helm template` uses and prints
// the release's notes instead of its manifests. Values, their schema check and rendering are
// Helm's (helm.sh/helm/v3/pkg/action, pkg/cli/values).
//
// Usage: helm-notes [NAME] CHART [-n NAMESPACE] [-f VALUES]... [--set K=V]...
package main

import (
	"fmt"
	"io"
	"log"
	"os"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/cli"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var opts values.Options
	var positional []string
	namespace := "default"
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("%s needs a value", a)
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch a {
		case "-n", "--namespace":
			namespace, err = value()
		case "-f", "--values":
			v, err = value()
			opts.ValueFiles = append(opts.ValueFiles, v)
		case "--set":
			v, err = value()
			opts.Values = append(opts.Values, v)
		default:
			if len(a) > 1 && a[0] == '-' {
				return fmt.Errorf("unknown flag %s", a)
			}
			positional = append(positional, a)
		}
		if err != nil {
			return err
		}
	}
	name, chartPath := "release-name", ""
	switch len(positional) {
	case 1:
		chartPath = positional[0]
	case 2:
		name, chartPath = positional[0], positional[1]
	default:
		return fmt.Errorf("usage: helm-notes [NAME] CHART [-n NAMESPACE] [-f VALUES]... [--set K=V]...")
	}

	settings := cli.New()
	vals, err := opts.MergeValues(getter.All(settings))
	if err != nil {
		return err
	}
	chrt, err := loader.Load(chartPath)
	if err != nil {
		return err
	}
	cfg := &action.Configuration{Log: log.New(io.Discard, "", 0).Printf}
	install := action.NewInstall(cfg)
	// As `helm template` sets it up: a dry run that never talks to a cluster.
	install.DryRun = true
	install.DryRunOption = "true"
	install.ClientOnly = true
	install.Replace = true
	install.ReleaseName = name
	install.Namespace = namespace
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return err
	}
	fmt.Print(rel.Info.Notes)
	if rel.Info.Notes != "" && rel.Info.Notes[len(rel.Info.Notes)-1] != '\n' {
		fmt.Println()
	}
	return nil
}
