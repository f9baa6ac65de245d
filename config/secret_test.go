package config

import (
	"strings"
	"testing"
)

// fencingSpec is the sample with fence_ipmilan, the given options line and
// every host's target.
func fencingSpec(t *testing.T, options string) error {
	t.Helper()
	return withAgent(t, "options = { "+options+" }", targets())
}

func TestFenceSecretsRefused(t *testing.T) {
	for _, k := range []string{
		"password", "passwd", "pass", "pw", "pwd", "secret", "key", "community",
		"apikey", "api_key", "api-key", "api_token", "token", "auth_token", "authtoken",
		"secret-key", "secret_key", "access_key", "passphrase", "credential", "credentials",
		"private_key", "privkey", "snmp_priv_passwd", "hexadecimal_kg", "login_password",
	} {
		t.Run(k, func(t *testing.T) {
			err := fencingSpec(t, `ip = "10.0.0.1", "`+k+`" = "hunter2"`)
			want := "fencing.options." + k + ": secrets are not written in the spec"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("option %q accepted; want %q, got: %v", k, want, err)
			}
		})
	}
}

func TestFenceSecretsInHostOptions(t *testing.T) {
	err := mutate(t, `agent = "none"`, "agent = \"fence_ipmilan\"\nhost_options = { client0 = { ip = \"10.0.0.9\", apikey = \"hunter2\" } }")
	if want := "fencing.host_options.client0.apikey: secrets are not written in the spec"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("want %q, got: %v", want, err)
	}
}

// An option whose only word is "auth" is fence_ipmilan's authentication
// type; any other value there may be a secret.
func TestFenceAuth(t *testing.T) {
	for _, v := range []string{"md5", "password", "none"} {
		if err := fencingSpec(t, `auth = "`+v+`"`); err != nil {
			t.Errorf("auth = %q (an IPMI auth type) refused: %v", v, err)
		}
	}
	if err := fencingSpec(t, `auth = "hunter2"`); err == nil || !strings.Contains(err.Error(), "fencing.options.auth: secrets") {
		t.Errorf("auth = \"hunter2\" accepted: %v", err)
	}
}

func TestFenceOptionsAccepted(t *testing.T) {
	err := fencingSpec(t, `ip = "10.0.0.1", ipport = "623", username = "admin", login = "admin", `+
		`password_script = "/root/fence-pw.sh", snmp_priv_passwd_script = "/root/snmp.sh", identity_file = "/root/.ssh/id_ed25519", `+
		`delay = "5", lanplus = "1", method = "cycle", privlvl = "operator", ssl_insecure = "1", `+
		`auth_url = "https://keystone:5000/v3", snmp_auth_prot = "SHA", plug = "3", power_timeout = "20"`)
	if err != nil {
		t.Fatalf("legitimate fence options refused: %v", err)
	}
}

func TestIsSecretSplitsCase(t *testing.T) {
	for k, want := range map[string]bool{"apiKey": true, "authToken": true, "userName": false, "passwordScript": false, "ipPort": false} {
		if got := isSecret(k, "x"); got != want {
			t.Errorf("isSecret(%q) = %v, want %v", k, got, want)
		}
	}
}
