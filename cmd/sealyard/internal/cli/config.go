package cli

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/sign"
)

// DefaultConfigFile is read from the working directory when present.
const DefaultConfigFile = "sealyard.yaml"

// envName is the environment variable of a flag: SEALYARD_ and the flag
// name in upper case with dashes as underscores (--db-max-age is
// SEALYARD_DB_MAX_AGE).
func envName(flag string) string {
	return "SEALYARD_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applySettings fills the flags the command line did not set, first from
// the environment, then from the config file: flag > env > file > default.
// Every key of the file must be a flag of the command.
func applySettings(cmd *cobra.Command, s *streams, configPath string, explicit bool) error {
	file := map[string]any{}
	if configPath != "" {
		data, err := os.ReadFile(configPath)
		switch {
		case errors.Is(err, os.ErrNotExist) && !explicit:
		case err != nil:
			return fmt.Errorf("config file: %w", err)
		default:
			dec := yaml.NewDecoder(strings.NewReader(string(data)))
			if err := dec.Decode(&file); err != nil && err.Error() != "EOF" {
				return fmt.Errorf("%s: not YAML: %w", configPath, err)
			}
		}
	}
	var unknown []string
	for k := range file {
		if f := cmd.Flags().Lookup(k); f == nil || k == "config" {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		var keys []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name != "config" && f.Name != "help" {
				keys = append(keys, f.Name)
			}
		})
		sort.Strings(keys)
		return fmt.Errorf("%s: unknown key(s) %s; the keys are the flags of sealyard %s: %s", configPath, strings.Join(unknown, ", "), cmd.Name(), strings.Join(keys, ", "))
	}
	if _, ok := file[allowUnsafeFlag]; ok {
		return fmt.Errorf("%s: %s counts only on the command line", configPath, allowUnsafeFlag)
	}
	if s.getenv(envName(allowUnsafeFlag)) != "" {
		return fmt.Errorf("%s: --%s counts only on the command line", envName(allowUnsafeFlag), allowUnsafeFlag)
	}
	allowUnsafe := cmd.Flags().Changed(allowUnsafeFlag)
	var errs []error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || f.Name == "config" || f.Name == "help" || f.Name == allowUnsafeFlag {
			return
		}
		if v := s.getenv(envName(f.Name)); v != "" {
			if !allowUnsafe && isUnsafe(f.Name, v) {
				errs = append(errs, unsafeFromSettings(envName(f.Name), f.Name))
				return
			}
			if err := setFlag(f, v, true); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if !allowUnsafe && isUnsafe(f.Name, yamlText(v)) {
				errs = append(errs, unsafeFromSettings(configPath, f.Name))
				return
			}
			if err := setFromYAML(f, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", configPath, f.Name, err))
			}
		}
	})
	return errors.Join(errs...)
}

// allowUnsafeFlag lets a config file or the environment turn on the
// settings that weaken sealyard's checks. It counts only on the command
// line, where whoever runs sealyard can see it.
const allowUnsafeFlag = "allow-unsafe-settings"

// unsafeSettings tell, for each weakening flag, whether a value turns the
// weakening on. A committed sealyard.yaml or a SEALYARD_* variable set
// somewhere up the CI configuration must not switch these on silently.
var unsafeSettings = map[string]func(v string) bool{
	"insecure-skip-tls-verify": isTrue,
	"allow-http-registry":      notEmpty,
	"insecure":                 isTrue,
	"skip-tlog-unsafe":         isTrue,
	"insecure-ignore-tlog":     isTrue,
	"allow-audit-decision":     isTrue,
	"fulcio-url":               func(v string) bool { return v != "" && v != sign.DefaultFulcioURL },
	"rekor-url":                func(v string) bool { return v != "" && v != sign.DefaultRekorURL },
	"gate-mode":                func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), string(policy.Audit)) },
}

func isUnsafe(flag, v string) bool {
	f, ok := unsafeSettings[flag]
	return ok && f(v)
}

func isTrue(v string) bool {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	return err == nil && b // a value that is no boolean fails when it is set
}

func notEmpty(v string) bool { return strings.TrimSpace(v) != "" }

func yamlText(v any) string {
	if list, ok := v.([]any); ok {
		if len(list) == 0 {
			return ""
		}
		return fmt.Sprint(list...)
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func unsafeFromSettings(where, flag string) error {
	return fmt.Errorf("%s sets %s, which weakens sealyard's checks; such settings are taken from a config file or the environment only with --%s on the command line (or give --%s there)", where, flag, allowUnsafeFlag, flag)
}

// setFlag sets a flag from a string; list flags take comma-separated values
// from the environment.
func setFlag(f *pflag.Flag, v string, fromEnv bool) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok && fromEnv {
		var parts []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		if err := sv.Replace(parts); err != nil {
			return err
		}
		f.Changed = true
		return nil
	}
	if err := f.Value.Set(v); err != nil {
		return err
	}
	f.Changed = true
	return nil
}

func setFromYAML(f *pflag.Flag, v any) error {
	switch x := v.(type) {
	case []any:
		sv, ok := f.Value.(pflag.SliceValue)
		if !ok {
			return fmt.Errorf("takes one value, not a list")
		}
		var parts []string
		for _, item := range x {
			switch item.(type) {
			case map[string]any, []any:
				return fmt.Errorf("list items must be plain values")
			}
			parts = append(parts, fmt.Sprint(item))
		}
		if err := sv.Replace(parts); err != nil {
			return err
		}
		f.Changed = true
		return nil
	case map[string]any:
		return fmt.Errorf("takes a value, not a mapping")
	case nil:
		return nil
	default:
		return setFlag(f, fmt.Sprint(x), false)
	}
}
