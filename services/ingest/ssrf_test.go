package ingest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestForbiddenKind(t *testing.T) {
	tests := []struct {
		name    string
		ip      string
		blocked bool
	}{
		{name: "IPv4 loopback", ip: "127.0.0.1", blocked: true},
		{name: "other 127/8", ip: "127.8.9.10", blocked: true},
		{name: "IPv6 loopback", ip: "::1", blocked: true},
		{name: "10/8", ip: "10.1.2.3", blocked: true},
		{name: "172.16/12", ip: "172.31.255.1", blocked: true},
		{name: "192.168/16", ip: "192.168.1.1", blocked: true},
		{name: "cloud metadata", ip: "169.254.169.254", blocked: true},
		{name: "link-local", ip: "169.254.1.1", blocked: true},
		{name: "CGNAT", ip: "100.64.0.1", blocked: true},
		{name: "CGNAT top", ip: "100.127.255.254", blocked: true},
		{name: "unspecified", ip: "0.0.0.0", blocked: true},
		{name: "this network", ip: "0.1.2.3", blocked: true},
		{name: "IPv6 unspecified", ip: "::", blocked: true},
		{name: "IPv4-mapped loopback", ip: "::ffff:127.0.0.1", blocked: true},
		{name: "IPv4-mapped private", ip: "::ffff:10.0.0.1", blocked: true},
		{name: "IPv6 ULA", ip: "fd00::1", blocked: true},
		{name: "AWS IPv6 metadata", ip: "fd00:ec2::254", blocked: true},
		{name: "IPv6 link-local", ip: "fe80::1", blocked: true},
		{name: "NAT64 of loopback", ip: "64:ff9b::7f00:1", blocked: true},
		{name: "6to4 of private", ip: "2002:a00:1::1", blocked: true},
		{name: "multicast", ip: "224.0.0.1", blocked: true},
		{name: "broadcast", ip: "255.255.255.255", blocked: true},
		{name: "public IPv4", ip: "203.162.4.190", blocked: false},
		{name: "public IPv4 near CGNAT", ip: "100.128.0.1", blocked: false},
		{name: "public IPv6", ip: "2001:ee0:4141::1", blocked: false},
		{name: "NAT64 of public", ip: "64:ff9b::cba2:4be", blocked: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := forbiddenKind(netip.MustParseAddr(tt.ip))
			if (k != "") != tt.blocked {
				t.Errorf("forbiddenKind(%s) = %q, blocked want %v", tt.ip, k, tt.blocked)
			}
		})
	}
}

// dnsServer is a tiny authoritative DNS server on loopback UDP answering
// A queries from names; every other question gets an empty answer.
type dnsServer struct {
	conn  net.PacketConn
	names map[string]netip.Addr // "internal.test." -> address
}

func startDNS(t *testing.T, names map[string]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dnsServer{conn: pc, names: map[string]netip.Addr{}}
	for n, ip := range names {
		d.names[n+"."] = netip.MustParseAddr(ip)
	}
	go d.serve()
	t.Cleanup(func() { pc.Close() })
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", addr)
	}}
}

func (d *dnsServer) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
		b.EnableCompression()
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		if ip, ok := d.names[q.Name.String()]; ok && q.Type == dnsmessage.TypeA && ip.Is4() {
			_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: ip.As4()})
		}
		msg, err := b.Finish()
		if err != nil {
			continue
		}
		_, _ = d.conn.WriteTo(msg, from)
	}
}

// countingServer counts the requests it gets.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestFetchRefusesInternalAddresses(t *testing.T) {
	target, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("%PDF-1.4 secret")) })
	tu, _ := url.Parse(target.URL)
	port := tu.Port()
	// A "public" server (exempted from the guard, as if it were on the
	// Internet) that redirects into the internal one.
	public, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-literal":
			http.Redirect(w, r, target.URL+"/secret.pdf", http.StatusFound)
		case "/to-name":
			http.Redirect(w, r, "http://internal.test:"+port+"/secret.pdf", http.StatusFound)
		case "/to-mapped":
			http.Redirect(w, r, "http://[::ffff:127.0.0.1]:"+port+"/secret.pdf", http.StatusFound)
		default:
			w.Write([]byte("%PDF-1.4 public"))
		}
	})
	resolver := startDNS(t, map[string]string{
		"internal.test": "127.0.0.1",
		"metadata.test": "169.254.169.254",
		"private.test":  "10.0.0.7",
	})
	newGuarded := func() *fetcher {
		f := newFetcher(Config{FetchTimeout: 2 * time.Second, Resolver: resolver, HostRate: 1000})
		pu, _ := url.Parse(public.URL)
		f.dialer.exempt = map[netip.AddrPort]bool{netip.MustParseAddrPort(pu.Host): true}
		return f
	}

	tests := []struct {
		name string
		url  string
		want string // in the error
	}{
		{name: "loopback literal", url: target.URL + "/secret.pdf", want: "127.0.0.1 (loopback)"},
		{name: "localhost by name", url: "http://localhost:" + port + "/secret.pdf", want: "loopback"},
		{name: "IPv6 loopback", url: "http://[::1]:" + port + "/", want: "loopback"},
		{name: "decimal IPv4", url: "http://2130706433:" + port + "/", want: "numeric host"},
		{name: "name resolving to loopback", url: "http://internal.test:" + port + "/secret.pdf", want: "internal.test: it resolves to 127.0.0.1 (loopback)"},
		{name: "name resolving to metadata", url: "http://metadata.test/latest/meta-data/", want: "169.254.169.254 (cloud metadata)"},
		{name: "name resolving to 10/8", url: "http://private.test/", want: "10.0.0.7 (private)"},
		{name: "redirect to loopback literal", url: public.URL + "/to-literal", want: "loopback"},
		{name: "redirect to a name resolving to loopback", url: public.URL + "/to-name", want: "resolves to 127.0.0.1"},
		{name: "redirect to IPv4-mapped loopback", url: public.URL + "/to-mapped", want: "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newGuarded().get(context.Background(), tt.url)
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("err = %v, want ErrForbiddenAddress", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--allow-private-networks") {
				t.Errorf("err = %q, want it to mention %q and --allow-private-networks", err, tt.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server got %d request(s), want none", n)
	}

	t.Run("the exempt public server itself is fetched", func(t *testing.T) {
		got, err := newGuarded().get(context.Background(), public.URL+"/ok.pdf")
		if err != nil || string(got.Body) != "%PDF-1.4 public" {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("allowed when private networks are allowed", func(t *testing.T) {
		f := newFetcher(Config{FetchTimeout: 2 * time.Second, Resolver: resolver, AllowPrivateNetworks: true, HostRate: 1000})
		for _, u := range []string{target.URL + "/a.pdf", public.URL + "/to-literal"} {
			got, err := f.get(context.Background(), u)
			if err != nil || string(got.Body) != "%PDF-1.4 secret" {
				t.Fatalf("%s: got %v, %v", u, got, err)
			}
		}
		if hits.Load() != 2 {
			t.Errorf("internal server hits = %d, want 2", hits.Load())
		}
	})
}

func TestPostArticleRefusesInternalURLs(t *testing.T) {
	site, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<html><head><title>Kỳ họp thứ 12</title></head><body><article><h1>Kỳ họp thứ 12</h1>
<p>Sáng nay, Hội đồng nhân dân tỉnh khai mạc kỳ họp thứ 12 để xem xét các báo cáo kinh tế - xã hội.</p>
<p>Các đại biểu thảo luận về kế hoạch đầu tư công năm 2024 và dự toán ngân sách của tỉnh.</p></article></body></html>`))
	})
	port := strings.TrimPrefix(site.URL[strings.LastIndex(site.URL, ":"):], ":")
	resolver := startDNS(t, map[string]string{"intranet.test": "127.0.0.1"})

	post := func(t *testing.T, s *Service, target string) (int, string) {
		t.Helper()
		mux := http.NewServeMux()
		s.Register(mux)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/articles", strings.NewReader(`{"url": "`+target+`"}`))
		mux.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}

	guarded, _ := testService(t, Config{Resolver: resolver})
	tests := []struct {
		name, url, want string
	}{
		{name: "loopback literal", url: site.URL + "/tin/ky-hop.html", want: "loopback"},
		{name: "DNS name resolving to loopback", url: "http://intranet.test:" + port + "/tin/ky-hop.html", want: "resolves to 127.0.0.1"},
		{name: "private literal", url: "http://10.20.30.40/tin.html", want: "private"},
		{name: "metadata", url: "http://169.254.169.254/latest/meta-data/", want: "cloud metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, guarded, tt.url)
			if code != http.StatusForbidden {
				t.Fatalf("code = %d (%s), want 403", code, body)
			}
			if !strings.Contains(body, `"error"`) || !strings.Contains(body, tt.want) {
				t.Errorf("body = %s, want an error mentioning %q", body, tt.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the site got %d request(s) through the guard, want none", n)
	}

	t.Run("allowed with AllowPrivateNetworks", func(t *testing.T) {
		open, _ := testService(t, Config{Resolver: resolver, AllowPrivateNetworks: true})
		code, body := post(t, open, "http://intranet.test:"+port+"/tin/ky-hop.html")
		if code != http.StatusAccepted || !strings.Contains(body, `"outcome": "queued"`) {
			t.Fatalf("code = %d, body %s; want 202 with a queued report", code, body)
		}
		if hits.Load() != 1 {
			t.Errorf("site hits = %d, want 1", hits.Load())
		}
	})
}
