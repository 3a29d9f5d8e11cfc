// SPDX-License-Identifier: Apache-2.0
/* Unit tests of fs/kcache.c: when an open may keep what the kernel holds. */
#include "check.h"
#include "kcache.h"

int main(void)
{
	struct kc k = {0};
	struct kc_open a, b, c;
	uint64_t A = kc_hash("running\n", 8, 0), B = kc_hash("failed\n", 7, 0);

	CHECK(A != B && A == kc_hash("running\n", 8, 0));
	/* looked up (size of A told), then opened: nothing held yet */
	kc_told(&k, A);
	kc_open(&k, A, &a);
	CHECK(!a.keep && !a.inval_attr);
	kc_close(&k, a.gen);
	/* the same content again: keep */
	kc_open(&k, A, &a);
	CHECK(a.keep && !a.inval_attr);
	kc_close(&k, a.gen);
	/* other content while the kernel holds A's size: drop, ask size */
	kc_open(&k, B, &a);
	CHECK(!a.keep && a.inval_attr);
	kc_close(&k, a.gen);
	/* attributes of B were sent since: the pages are B's, keep */
	kc_told(&k, B);
	kc_open(&k, B, &a);
	CHECK(a.keep && !a.inval_attr);
	kc_close(&k, a.gen);
	/* attributes of A sent (a refresh) while B's pages are held: drop */
	kc_told(&k, A);
	kc_open(&k, A, &a);
	CHECK(!a.keep && !a.inval_attr);
	kc_close(&k, a.gen);

	/* an open of B while one of A is still open: nothing kept until
	 * an open after the A one closed has dropped what it filled */
	kc_told(&k, B);
	kc_open(&k, A, &a); /* B's size was told since: not kept */
	CHECK(!a.keep && a.inval_attr);
	kc_close(&k, a.gen);
	kc_told(&k, A);
	kc_open(&k, A, &a);
	CHECK(a.keep);
	kc_open(&k, B, &b); /* a still open, reading A */
	CHECK(!b.keep && b.inval_attr);
	kc_told(&k, B);
	kc_open(&k, B, &c); /* a may refill A's pages: not kept */
	CHECK(!c.keep);
	kc_close(&k, a.gen);
	kc_close(&k, b.gen);
	kc_close(&k, c.gen);
	kc_open(&k, B, &a); /* a closed: but its pages may be there */
	CHECK(!a.keep);
	kc_close(&k, a.gen);
	kc_open(&k, B, &a); /* dropped by the open before: keep */
	CHECK(a.keep);
	kc_close(&k, a.gen);
	CHECK(k.cur == 0 && k.old == 0);

	/* a write: whatever the kernel holds is unknown */
	kc_forget(&k);
	kc_open(&k, B, &a);
	CHECK(!a.keep && a.inval_attr);
	kc_close(&k, a.gen);
	CHECK(kc_stale_size(&k, B));
	kc_told(&k, B);
	CHECK(!kc_stale_size(&k, B) && kc_stale_size(&k, A));
	return CHECK_DONE();
}
