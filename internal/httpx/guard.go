package httpx

import (
	"crypto/subtle"
	"errors"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of Guard: each client IP may send DefaultBurst protected
// requests at once and DefaultRate a second after that.
const (
	DefaultRate  = 5.0
	DefaultBurst = 30
)

// Guard protects the requests that make bantin work or try a secret:
// POST /api/* (ingest) and POST /review/login (editor sign-in). Each client
// IP gets a token bucket; a request over it is answered 429 with
// Retry-After. When APIToken is set, POST /api/* also needs
// "Authorization: Bearer <APIToken>".
type Guard struct {
	// Rate is protected requests per second per client IP after Burst;
	// 0 takes DefaultRate, a negative value turns the limit off.
	Rate  float64
	Burst int
	// APIToken, when set, is required on POST /api/*.
	APIToken string
}

// protected says whether r is one of the guarded requests, and whether it
// is an API call (which the token guards).
func protected(r *http.Request) (limited, api bool) {
	if r.Method != http.MethodPost {
		return false, false
	}
	api = strings.HasPrefix(r.URL.Path, "/api/")
	return api || r.URL.Path == "/review/login", api
}

// limiter is a token bucket per client IP, forgotten after idle time.
type limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	clients map[string]*clientBucket
	swept   time.Time
}

type clientBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// idleForget is how long a client's bucket is kept after its last request
// (a full bucket refills well within it).
const idleForget = 10 * time.Minute

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{rate: rate.Limit(perSecond), burst: burst, clients: map[string]*clientBucket{}, swept: time.Now()}
}

// reserve takes a token for ip, or says how long until one is free.
func (l *limiter) reserve(ip string, now time.Time) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, c := range l.clients {
			if now.Sub(c.seen) > idleForget {
				delete(l.clients, k)
			}
		}
		l.swept = now
	}
	c := l.clients[ip]
	if c == nil {
		c = &clientBucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.clients[ip] = c
	}
	c.seen = now
	if c.lim.AllowN(now, 1) {
		return true, 0
	}
	r := c.lim.ReserveN(now, 1)
	wait = r.DelayFrom(now)
	r.CancelAt(now)
	return false, wait
}

// clientIP is the address the request came from. X-Forwarded-For is not
// trusted (a client could rotate it): behind a proxy every client shares
// the proxy's bucket, so size Burst for it or rate-limit at the proxy.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Wrap returns h behind the guard.
func (g Guard) Wrap(h http.Handler) http.Handler {
	perSecond, burst := g.Rate, g.Burst
	if perSecond == 0 {
		perSecond = DefaultRate
	}
	if burst <= 0 {
		burst = DefaultBurst
	}
	var lim *limiter
	if perSecond > 0 {
		lim = newLimiter(perSecond, burst)
	}
	token := []byte(g.APIToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limited, api := protected(r)
		if !limited {
			h.ServeHTTP(w, r)
			return
		}
		if lim != nil {
			if ok, wait := lim.reserve(clientIP(r), time.Now()); !ok {
				secs := int(math.Ceil(wait.Seconds()))
				w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
				writeErrorBody(w, http.StatusTooManyRequests, errors.New("too many requests from this address; retry after the number of seconds in Retry-After"))
				return
			}
		}
		if api && len(token) > 0 {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), token) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bantin"`)
				writeErrorBody(w, http.StatusUnauthorized, errors.New("this API needs \"Authorization: Bearer <token>\" with the token set in BANTIN_API_TOKEN"))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// SetGuard puts g in front of the server's handlers (see Guard); without
// it, a Guard with the defaults and no token is used.
func (s *Server) SetGuard(g Guard) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guard = &g
}
