package steps

import "net"

// iscsiPortal is the portal open-iscsi's iscsiadm takes for a target at
// addr: address:3260, an IPv6 address in brackets ([fd00::10]:3260), as
// iscsiadm reads the port after the last ':'. LIO's targetcli takes the
// bare address and the port as two arguments instead.
func iscsiPortal(addr string) string { return net.JoinHostPort(addr, "3260") }
