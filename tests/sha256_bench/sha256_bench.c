// SPDX-License-Identifier: GPL-2.0
/*
 * sha256_bench: what the SHA-256 of one page costs, the check lazyresume
 * makes of every page it fetches, through the library's sha256()
 * (lib/crypto/sha256.c, which the module calls) and through the crypto
 * API: its "sha256" (the driver of the highest priority) and each of the
 * drivers "sha256-generic", "sha256-ssse3", "sha256-avx", "sha256-avx2"
 * and "sha256-ni" that is registered.
 *
 * On load it hashes one page of random bytes @iterations times with each
 * of them, compares every digest with the library's and prints one line
 * per implementation:
 *
 *   sha256_bench: <name> <ns per page> ns/page (<MiB/s> MiB/s)
 *
 * A driver that is not registered gets "sha256_bench: <name> skipped: ..."
 * and anything wrong (a digest that differs, an error) a line that starts
 * with "sha256_bench: FAIL", and the load fails (-EBADMSG).  When every
 * implementation that ran agreed with the library the module stays
 * loaded, holding nothing: remove it and load it again for another run.
 * It does not fail every load as tcrypt does: busybox's insmod (our
 * guests') retries a failed finit_module() with init_module(), which runs
 * the benchmark a second time (a failing run is printed twice).
 *
 * scripts/bench-sha256.sh builds it, with the kernel's x86 glue as a
 * module (sha256-ssse3.ko, see Kbuild), and runs both in a guest.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/hash.h>
#include <crypto/sha2.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/string.h>

#define SHA256_BENCH_MAX_ITERATIONS 100000
/* Hashes between two readings of the clock (and a cond_resched()). */
#define SHA256_BENCH_BATCH 50

static unsigned int iterations = 2000;
module_param(iterations, uint, 0444);
MODULE_PARM_DESC(iterations,
		 "hashes of the page per implementation (1 to 100000, default 2000)");

static const char * const sha256_bench_drivers[] = {
	"sha256-generic", "sha256-ssse3", "sha256-avx", "sha256-avx2",
	"sha256-ni",
};

typedef int (*sha256_bench_fn)(struct crypto_shash *tfm, const u8 *data,
			       u8 *out);

static int sha256_bench_lib(struct crypto_shash *tfm, const u8 *data, u8 *out)
{
	sha256(data, PAGE_SIZE, out);
	return 0;
}

static int sha256_bench_shash(struct crypto_shash *tfm, const u8 *data,
			      u8 *out)
{
	return crypto_shash_tfm_digest(tfm, data, PAGE_SIZE, out);
}

/*
 * Hash @page @iterations times with @fn, checking every digest against
 * @ref, and print the result line of @name.  The check is inside the
 * timed loop, the same for every implementation (a 32-byte memcmp()
 * beside a 64-block hash).  Returns 0 when every digest matched.
 */
static int sha256_bench_one(const char *name, sha256_bench_fn fn,
			    struct crypto_shash *tfm, const u8 *page,
			    const u8 *ref)
{
	u8 out[SHA256_DIGEST_SIZE];
	unsigned int done = 0, bad = 0, n, i;
	u64 total = 0, start, per_page, mibs10;
	int err;

	while (done < iterations) {
		n = min(iterations - done, SHA256_BENCH_BATCH);
		start = ktime_get_ns();
		for (i = 0; i < n; i++) {
			err = fn(tfm, page, out);
			if (err) {
				pr_info("FAIL %s: hashing failed (%d)\n",
					name, err);
				return err;
			}
			if (memcmp(out, ref, sizeof(out)))
				bad++;
		}
		total += ktime_get_ns() - start;
		done += n;
		cond_resched();
	}
	if (bad) {
		pr_info("FAIL %s: %u of %u digests differ from sha256()'s\n",
			name, bad, iterations);
		return -EBADMSG;
	}

	total = max(total, 1ULL);
	per_page = div_u64(total, iterations);
	/* MiB/s, to a tenth: iterations pages of 4 KiB = 1/256 MiB. */
	mibs10 = div64_u64((u64)iterations * NSEC_PER_SEC * 10, total * 256);
	pr_info("%s %llu ns/page (%llu.%llu MiB/s)\n", name, per_page,
		div_u64(mibs10, 10), mibs10 % 10);
	return 0;
}

/*
 * Bench the crypto API's @alg, shown as @label (the driver's name is
 * added when @label is NULL).  A driver that is not registered is skipped.
 */
static int sha256_bench_alg(const char *alg, const char *label,
			    const u8 *page, const u8 *ref)
{
	struct crypto_shash *tfm;
	char name[CRYPTO_MAX_ALG_NAME + 16];
	int err;

	tfm = crypto_alloc_shash(alg, 0, 0);
	if (IS_ERR(tfm)) {
		err = PTR_ERR(tfm);
		if (err == -ENOENT) {
			pr_info("shash:%s skipped: not registered\n", alg);
			return 0;
		}
		pr_info("FAIL shash:%s: cannot allocate it (%d)\n", alg, err);
		return err;
	}
	if (label)
		snprintf(name, sizeof(name), "%s", label);
	else
		snprintf(name, sizeof(name), "shash:%s[%s]", alg,
			 crypto_shash_driver_name(tfm));
	err = sha256_bench_one(name, sha256_bench_shash, tfm, page, ref);
	crypto_free_shash(tfm);
	return err;
}

static int __init sha256_bench_init(void)
{
	u8 ref[SHA256_DIGEST_SIZE];
	char label[CRYPTO_MAX_ALG_NAME + 16];
	unsigned int i;
	bool failed = false;
	u8 *page;

	if (iterations < 1 || iterations > SHA256_BENCH_MAX_ITERATIONS) {
		pr_info("FAIL iterations=%u: from 1 to %u\n", iterations,
			SHA256_BENCH_MAX_ITERATIONS);
		return -EINVAL;
	}
	page = (u8 *)__get_free_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	get_random_bytes(page, PAGE_SIZE);
	sha256(page, PAGE_SIZE, ref);

	pr_info("%u hashes of a %lu-byte page per implementation\n",
		iterations, PAGE_SIZE);
	if (sha256_bench_one("lib", sha256_bench_lib, NULL, page, ref))
		failed = true;
	if (sha256_bench_alg("sha256", NULL, page, ref))
		failed = true;
	for (i = 0; i < ARRAY_SIZE(sha256_bench_drivers); i++) {
		snprintf(label, sizeof(label), "shash:%s",
			 sha256_bench_drivers[i]);
		if (sha256_bench_alg(sha256_bench_drivers[i], label, page, ref))
			failed = true;
	}

	free_page((unsigned long)page);
	return failed ? -EBADMSG : 0;
}
module_init(sha256_bench_init);

static void __exit sha256_bench_exit(void)
{
}
module_exit(sha256_bench_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("SHA-256 of a page: the library's sha256() against the crypto API's drivers");
