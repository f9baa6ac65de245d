package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The last applied spec of each cluster is kept in the state directory,
// beside the run logs: applied/CLUSTER.toml, written after every successful
// apply (the CLI's and the wizard's), so that the next one can say what
// changed since (Changes).

// AppliedPath is where the last applied spec of cluster is kept.
func AppliedPath(cluster string) (string, error) {
	if !reClusterName.MatchString(cluster) {
		return "", fmt.Errorf("record of the applied spec: %q is not a valid cluster name", cluster)
	}
	dir, err := StateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "applied", cluster+".toml"), nil
}

// SaveApplied records s as its cluster's last applied spec (0600, replacing
// the previous record) and returns where.
func SaveApplied(s *Spec, at time.Time) (string, error) {
	path, err := AppliedPath(s.Cluster.Name)
	if err != nil {
		return "", err
	}
	data, err := s.Render()
	if err != nil {
		return "", fmt.Errorf("record the applied spec of cluster %s: %w", s.Cluster.Name, err)
	}
	head := fmt.Sprintf("# cluster %s as applied at %s from %s\n", s.Cluster.Name, at.UTC().Format(time.RFC3339), s.Path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("record the applied spec of cluster %s: %w", s.Cluster.Name, err)
	}
	if err := replaceFile(path, append([]byte(head), data...), 0o600); err != nil {
		return "", fmt.Errorf("record the applied spec of cluster %s in %s: %w", s.Cluster.Name, path, err)
	}
	return path, nil
}

// LoadApplied reads the last applied spec of cluster: nil, nil when none
// was recorded.
func LoadApplied(cluster string) (*Spec, error) {
	path, err := AppliedPath(cluster)
	if err != nil {
		return nil, err
	}
	s, err := Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the last applied spec of cluster %s: %w", cluster, err)
	}
	return s, nil
}

// Changes says in words what changed from the last applied spec to now, in
// the spec's order: pairs, clients and hosts added or removed, and every
// key whose value changed ("fencing.agent none → fence_ipmilan"). Nothing
// when they are alike, or when last is nil (nothing recorded).
func Changes(last, now *Spec) []string {
	if last == nil || now == nil {
		return nil
	}
	var out []string
	if last.Cluster != now.Cluster {
		out = append(out, diffFields("cluster.", reflect.ValueOf(last.Cluster), reflect.ValueOf(now.Cluster))...)
	}
	out = append(out, diffFields("ssh.", reflect.ValueOf(last.SSH), reflect.ValueOf(now.SSH))...)

	// hosts that come or go with a pair or a client are said there
	withRole := map[string]bool{}
	var pairs, clients []string
	lp, np := pairsByID(last), pairsByID(now)
	for _, id := range unionKeys(lp, np) {
		a, b := lp[id], np[id]
		name := "pair r" + id
		switch {
		case a == nil:
			pairs = append(pairs, fmt.Sprintf("%s added (%s, %s)", name, b.A.Host, b.B.Host))
			withRole[b.A.Host], withRole[b.B.Host] = true, true
		case b == nil:
			pairs = append(pairs, fmt.Sprintf("%s removed (%s, %s)", name, a.A.Host, a.B.Host))
			withRole[a.A.Host], withRole[a.B.Host] = true, true
		default:
			pairs = append(pairs, diffFields(name+": ", reflect.ValueOf(*a), reflect.ValueOf(*b))...)
		}
	}
	lc, nc := clientsByHost(last), clientsByHost(now)
	for _, h := range unionKeys(lc, nc) {
		a, b := lc[h], nc[h]
		switch {
		case a == nil:
			clients = append(clients, "client "+h+" added")
			withRole[h] = true
		case b == nil:
			clients = append(clients, "client "+h+" removed")
			withRole[h] = true
		default:
			clients = append(clients, diffFields("client "+h+": ", reflect.ValueOf(*a), reflect.ValueOf(*b))...)
		}
	}
	lh, nh := hostsByName(last), hostsByName(now)
	for _, h := range unionKeys(lh, nh) {
		a, b := lh[h], nh[h]
		switch {
		case a == nil && !withRole[h]:
			out = append(out, "host "+h+" added ("+b.Address+")")
		case b == nil && !withRole[h]:
			out = append(out, "host "+h+" removed")
		case a != nil && b != nil:
			out = append(out, diffFields("host "+h+": ", reflect.ValueOf(*a), reflect.ValueOf(*b))...)
		}
	}
	out = append(out, pairs...)
	out = append(out, clients...)
	for _, sec := range []struct {
		name       string
		last, then any
	}{{"drbd.", last.DRBD, now.DRBD}, {"volume.", last.Volume, now.Volume}, {"fencing.", last.Fencing, now.Fencing}, {"wipe.", last.Wipe, now.Wipe}} {
		out = append(out, diffFields(sec.name, reflect.ValueOf(sec.last), reflect.ValueOf(sec.then))...)
	}
	return out
}

// diffFields says which keys of two values of one struct type differ, each
// as "PREFIXkey old → new" with its TOML key path.
func diffFields(prefix string, a, b reflect.Value) []string {
	fa, fb := map[string]string{}, map[string]string{}
	var keys []string
	flatten("", a, fa, &keys)
	flatten("", b, fb, &keys)
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		va, okA := fa[k]
		vb, okB := fb[k]
		if okA && okB && va == vb {
			continue
		}
		if !okA {
			va = "(unset)"
		}
		if !okB {
			vb = "(unset)"
		}
		out = append(out, prefix+k+" "+va+" → "+vb)
	}
	return out
}

// flatten lists a value's leaves by TOML key path ("a.disk",
// "host_options.storage0a.ip"); unset ones are left out.
func flatten(at string, v reflect.Value, out map[string]string, keys *[]string) {
	add := func(s string) {
		if _, ok := out[at]; !ok {
			*keys = append(*keys, at)
		}
		out[at] = s
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			flatten(at, v.Elem(), out, keys)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			key, _, ok := tomlTag(t.Field(i))
			if ok {
				flatten(joinKey(at, key), v.Field(i), out, keys)
			}
		}
	case reflect.Map:
		ks := v.MapKeys()
		sort.Slice(ks, func(i, j int) bool { return ks[i].String() < ks[j].String() })
		for _, k := range ks {
			flatten(joinKey(at, k.String()), v.MapIndex(k), out, keys)
		}
	case reflect.Slice:
		if v.Len() > 0 {
			items := make([]string, v.Len())
			for i := range items {
				items[i] = fmt.Sprint(v.Index(i).Interface())
			}
			add("[" + strings.Join(items, ", ") + "]")
		}
	case reflect.String:
		if v.String() != "" {
			add(v.String())
		}
	case reflect.Int:
		if v.Int() != 0 {
			add(strconv.FormatInt(v.Int(), 10))
		}
	default:
		add(fmt.Sprint(v.Interface()))
	}
}

func joinKey(at, key string) string {
	if at == "" {
		return key
	}
	return at + "." + key
}

func pairsByID(s *Spec) map[string]*Pair {
	m := map[string]*Pair{}
	for i := range s.Pairs {
		m[strconv.Itoa(s.Pairs[i].Num())] = &s.Pairs[i]
	}
	return m
}

func clientsByHost(s *Spec) map[string]*Client {
	m := map[string]*Client{}
	for i := range s.Clients {
		m[s.Clients[i].Host] = &s.Clients[i]
	}
	return m
}

func hostsByName(s *Spec) map[string]*Host {
	m := map[string]*Host{}
	for i := range s.Hosts {
		m[s.Hosts[i].Name] = &s.Hosts[i]
	}
	return m
}

// unionKeys is the keys of both maps, sorted (numbers by value).
func unionKeys[T any](a, b map[string]T) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool {
		x, errX := strconv.Atoi(ks[i])
		y, errY := strconv.Atoi(ks[j])
		if errX == nil && errY == nil {
			return x < y
		}
		return ks[i] < ks[j]
	})
	return ks
}
