/* SPDX-License-Identifier: BSD-3-Clause */
/* Memory of the FIB's own tables (fib4_table.c, fib6_table.c,
 * fib_prefixes.c): plain anonymous memory, not DPDK's — zero without a
 * memset, touched only where routes land (an empty full-size table costs
 * nothing, and a killed dataplane has that much less to tear down before
 * agentd hears of it), and backed by transparent huge pages where the kernel
 * has them (what hugepages would give the lookups: few TLB misses). Nothing
 * but this process reads it: no DMA, no secondary process. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>

/* BYTES of zeroed memory, or NULL. NORESERVE: a generous reservation that
 * is mostly never touched (no swap/commit accounting for it). */
static inline void *fib_mem_alloc(size_t bytes, bool noreserve)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0), -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE); /* a hint: fine if THP is off */
	return p;
}

static inline void fib_mem_free(void *p, size_t bytes)
{
	if (p != NULL)
		munmap(p, bytes);
}
