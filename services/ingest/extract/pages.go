package extract

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// minParallelPages is the least number of pages of a PDF read in
// parallel; shorter documents are read on one goroutine, where starting
// workers and parsing a font on each would cost more than they save.
const minParallelPages = 4

// pageWorkers is the number of goroutines that read the pages of a PDF of
// n pages: concurrency (GOMAXPROCS when 0 or less), at most n, and 1 for
// short documents.
func pageWorkers(concurrency, n int) int {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	if n < minParallelPages {
		return 1
	}
	return max(1, min(concurrency, n))
}

// pagePanic carries a panic out of a page worker.
type pagePanic struct {
	page  int
	value any
}

// forPages calls fn(i) for every page index i in [0, n) on up to workers
// goroutines. fn must only write what belongs to page i. When ctx is done
// it stops taking pages and returns the context's error with the lowest
// page index not started. A panic in fn is raised again on the calling
// goroutine once all workers have stopped, the one of the lowest page
// first, as a loop over the pages would raise it.
func forPages(ctx context.Context, n, workers int, fn func(i int)) (stop int, err error) {
	if workers <= 1 {
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return i, err
			}
			fn(i)
		}
		return n, nil
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		stopped  = n
		firstErr error
		panicked *pagePanic
	)
	run := func(i int) {
		defer func() {
			if r := recover(); r != nil {
				mu.Lock()
				if panicked == nil || i < panicked.page {
					panicked = &pagePanic{page: i, value: r}
				}
				mu.Unlock()
			}
		}()
		fn(i)
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					mu.Lock()
					if i < stopped {
						stopped, firstErr = i, err
					}
					mu.Unlock()
					return
				}
				run(i)
			}
		}()
	}
	wg.Wait()
	if panicked != nil && (firstErr == nil || panicked.page < stopped) {
		panic(panicked.value)
	}
	if firstErr != nil {
		return stopped, firstErr
	}
	return n, nil
}
