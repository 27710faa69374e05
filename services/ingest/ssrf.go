package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is returned (wrapped) when a URL, or a redirect from
// it, leads to a loopback, private, link-local, metadata or otherwise
// internal address and private networks are not allowed. Nothing is sent
// to such an address.
var ErrForbiddenAddress = errors.New("address not allowed")

// Resolver looks up the addresses of a host name. *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Extra ranges that are not public unicast, beyond what netip.Addr's
// predicates cover.
var blockedPrefixes = [...]struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT (100.64/10)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/96"), "IPv4-compatible IPv6"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

// NAT64 and 6to4 addresses embed an IPv4 address, which is checked too.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// forbiddenKind says why ip may not be dialled, or "" when it is a public
// unicast address.
func forbiddenKind(ip netip.Addr) string {
	ip = ip.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip == netip.AddrFrom4([4]byte{169, 254, 169, 254}):
		return "cloud metadata"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	if ip.Is6() && (nat64Prefix.Contains(ip) || sixToFour.Contains(ip)) {
		b := ip.As16()
		var v4 [4]byte
		if nat64Prefix.Contains(ip) {
			copy(v4[:], b[12:16])
		} else {
			copy(v4[:], b[2:6])
		}
		if k := forbiddenKind(netip.AddrFrom4(v4)); k != "" {
			return k + " (embedded in IPv6)"
		}
	}
	for _, p := range blockedPrefixes {
		if p.prefix.Contains(ip) {
			return p.kind
		}
	}
	return ""
}

// guardedDialer dials TCP connections for the fetcher. Unless private
// networks are allowed it resolves the host itself and dials only the
// public addresses it got, so a DNS name, a literal address and every
// redirect hop are checked on the address actually connected to.
type guardedDialer struct {
	dialer       net.Dialer
	resolver     Resolver
	allowPrivate bool
	// exempt lets tests reach one loopback server as if it were public,
	// to test redirects from it; nothing else sets it.
	exempt map[netip.AddrPort]bool
}

// forbidden says why ip:port may not be dialled, or "" if it may.
func (d *guardedDialer) forbidden(ap netip.AddrPort) string {
	if d.exempt[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] {
		return ""
	}
	return forbiddenKind(ap.Addr())
}

func newGuardedDialer(connectTimeout time.Duration, resolver Resolver, allowPrivate bool) *guardedDialer {
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	d := &guardedDialer{resolver: resolver, allowPrivate: allowPrivate}
	d.dialer.Timeout = connectTimeout
	d.dialer.KeepAlive = 30 * time.Second
	// Belt and braces: whatever address a connection is about to use is
	// checked once more right before connect(2).
	d.dialer.ControlContext = func(_ context.Context, network, address string, _ syscall.RawConn) error {
		if d.allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot read address %q", ErrForbiddenAddress, address)
		}
		if k := d.forbidden(ap); k != "" {
			return fmt.Errorf("%w: %s is a %s address", ErrForbiddenAddress, ap.Addr(), k)
		}
		return nil
	}
	return d
}

// DialContext resolves host with the configured resolver, refuses
// internal addresses unless private networks are allowed, and dials the
// rest in order until one answers.
func (d *guardedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", address, err)
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		lookup := "ip"
		switch network {
		case "tcp4":
			lookup = "ip4"
		case "tcp6":
			lookup = "ip6"
		}
		if addrs, err = d.resolver.LookupNetIP(ctx, lookup, host); err != nil {
			return nil, fmt.Errorf("resolving %s: %w", host, err)
		}
	}
	portNum, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: bad port: %w", address, err)
	}
	var refused []string
	var lastErr error
	for _, ip := range addrs {
		if k := d.forbidden(netip.AddrPortFrom(ip, uint16(portNum))); k != "" && !d.allowPrivate {
			refused = append(refused, fmt.Sprintf("%s (%s)", ip.Unmap(), k))
			continue
		}
		conn, err := d.dialer.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	if lastErr != nil {
		return nil, lastErr
	}
	if len(refused) > 0 {
		return nil, &forbiddenError{host: host, addrs: refused}
	}
	return nil, fmt.Errorf("resolving %s: no addresses", host)
}

// forbiddenError names the host and the internal addresses it resolved to.
type forbiddenError struct {
	host  string
	addrs []string
}

func (e *forbiddenError) Error() string {
	what := strings.Join(e.addrs, ", ")
	if !isLiteral(e.host) {
		what = e.host + ": it resolves to " + what
	}
	return fmt.Sprintf("refusing to connect to %s, not a public address (SSRF guard; --allow-private-networks turns it off for tests and intranets)", what)
}

func (e *forbiddenError) Unwrap() error { return ErrForbiddenAddress }

func isLiteral(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// checkURL refuses a URL whose host is a literal internal address before
// any request is made; names are checked when dialled.
func (d *guardedDialer) checkURL(u *url.URL) error {
	if d.allowPrivate {
		return nil
	}
	h := u.Hostname()
	if ip, err := netip.ParseAddr(h); err == nil {
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		p, _ := strconv.ParseUint(port, 10, 16)
		if k := d.forbidden(netip.AddrPortFrom(ip, uint16(p))); k != "" {
			return &forbiddenError{host: h, addrs: []string{ip.Unmap().String() + " (" + k + ")"}}
		}
	}
	// Decimal and hex spellings ("2130706433", "0x7f000001") are read as
	// IPv4 by some resolvers; refuse them rather than guess.
	if _, err := strconv.ParseUint(h, 0, 32); err == nil {
		return &forbiddenError{host: h, addrs: []string{h + " (numeric host)"}}
	}
	return nil
}
