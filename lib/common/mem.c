/* mem.c: where the big tables live. Live, tables come from DPDK memory (hugepages, on the
 * port's NUMA socket, faulted in and zeroed at start: the packet path never takes a page
 * fault). Offline, a capture rarely fills the capacities the config allows, so tables come
 * from anonymous mappings the kernel zero-fills on first touch (transparent huge pages asked
 * for): start-up and memory then grow with what the capture uses, not with the configured
 * capacity, and any capacity the config accepts runs. See sl_common.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "sl_common.h"

#define TMEM_MAGIC_DPDK 0x736c746d64706b31ull /* "sltmdpk1" */
#define TMEM_MAGIC_LAZY 0x736c746d6c617a31ull /* "sltmlaz1" */
#define TMEM_HUGE (2u << 20)

/* Just before every table: how to give it back. */
struct tmem_hdr {
	uint64_t magic;
	void *base;     /* what was mapped or allocated */
	size_t len;     /* mapped length (lazy) */
	uint64_t pad[5];
};

static bool tmem_lazy;

void
sl_tmem_set_lazy(bool lazy)
{
	tmem_lazy = lazy;
}

bool
sl_tmem_lazy(void)
{
	return tmem_lazy;
}

static void *
lazy_alloc(size_t size)
{
	struct tmem_hdr *h;
	size_t len;
	uint8_t *base, *data;

	/* room to start the table on a 2 MiB boundary, so that it can take huge pages */
	if (size > SIZE_MAX - TMEM_HUGE - sizeof(*h)) {
		rte_errno = ENOMEM;
		return NULL;
	}
	len = size + TMEM_HUGE + sizeof(*h);
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (base == MAP_FAILED) {
		rte_errno = ENOMEM;
		return NULL;
	}
	data = (uint8_t *)RTE_ALIGN_CEIL((uintptr_t)base + sizeof(*h), TMEM_HUGE);
	if (size >= TMEM_HUGE)
		(void)madvise(data, size, MADV_HUGEPAGE); /* a hint: 4 KiB pages still work */
	h = (struct tmem_hdr *)(void *)(data - sizeof(*h));
	h->magic = TMEM_MAGIC_LAZY;
	h->base = base;
	h->len = len;
	return data;
}

void *
sl_tmem_zalloc(const char *name, size_t size, int socket)
{
	struct tmem_hdr *h;
	uint8_t *p;

	if (size == 0)
		size = 1;
	if (tmem_lazy)
		return lazy_alloc(size);
	if (size > SIZE_MAX - sizeof(*h)) {
		rte_errno = ENOMEM;
		return NULL;
	}
	p = rte_zmalloc_socket(name, size + sizeof(*h), RTE_CACHE_LINE_SIZE, socket);
	if (p == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	h = (struct tmem_hdr *)(void *)p;
	h->magic = TMEM_MAGIC_DPDK;
	h->base = p;
	return p + sizeof(*h);
}

void
sl_tmem_free(void *p)
{
	struct tmem_hdr *h;

	if (p == NULL)
		return;
	h = (struct tmem_hdr *)(void *)((uint8_t *)p - sizeof(*h));
	if (h->magic == TMEM_MAGIC_LAZY) {
		void *base = h->base;
		size_t len = h->len;

		h->magic = 0;
		(void)munmap(base, len);
	} else if (h->magic == TMEM_MAGIC_DPDK) {
		h->magic = 0;
		rte_free(h->base);
	}
}
