/* SPDX-License-Identifier: MIT */
/*
 * Topology and placement.
 *
 *   test-topo hwloc    machines this box is not (hwloc XML and synthetic
 *                      topologies from tests/topologies): distance classes,
 *                      NUMA distances, every ranking rule, cpuset limits.
 *                      Skips (77) in a build without hwloc.
 *   test-topo sysfs    the sysfs fallback on fabricated sysfs trees, and on
 *                      this machine (compared with hwloc when built).
 *   test-topo machine  pinning, current CPU of threads and receivers, NUMA
 *                      memory binding, argument checks.
 *
 * UIPC_TEST_TOPOLOGIES names the directory of the XML files.
 */
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"
#include "uipc-config.h"

#define MAXC 64

static const char *topo_dir(void)
{
	const char *d = getenv("UIPC_TEST_TOPOLOGIES");
	return d && *d ? d : "tests/topologies";
}

static uipc_topo *load_xml(const char *name)
{
	char path[1024];
	uipc_topo *t = NULL;

	snprintf(path, sizeof(path), "%s/%s", topo_dir(), name);
	assert_int_equal(uipc_topo_new_from_xml(path, &t), 0);
	assert_non_null(t);
	return t;
}

static uipc_topo *load_syn(const char *desc)
{
	uipc_topo *t = NULL;

	assert_int_equal(uipc_topo_new_synthetic(desc, &t), 0);
	assert_non_null(t);
	return t;
}

static void assert_list(const int *got, int n, const int *want, int m)
{
	assert_int_equal(n, m);
	for (int i = 0; i < m; i++) {
		if (got[i] != want[i])
			fail_msg("position %d: cpu %d, expected %d", i, got[i], want[i]);
	}
}

#define ASSERT_RANK(t, cpu, policy, flags, ...)                                                    \
	do {                                                                                       \
		static const int want_[] = {__VA_ARGS__};                                          \
		int got_[MAXC];                                                                    \
		int n_ = uipc_topo_rank((t), (cpu), (policy), (flags), got_, MAXC);                \
		assert_list(got_, n_, want_, (int)(sizeof(want_) / sizeof(want_[0])));             \
	} while (0)

static bool core_of(const uipc_topo *t, int a, int b)
{
	return uipc_topo_distance(t, a, b) <= UIPC_TOPO_DIST_SMT;
}

/*
 * The placement rules, checked on any ranking independently of the expected
 * lists: only allowed CPUs, each once, exactly the qualifying ones; never
 * the reference core without OWN_CORE (and then the reference CPU last);
 * NEAREST/SAME_NODE never move to a farther class; SPREAD never puts a second
 * thread of a core before a core that has none yet.
 */
static void check_rules(const uipc_topo *t, int ref, enum uipc_topo_policy policy, unsigned flags)
{
	int allowed[MAXC], got[MAXC];
	int na = uipc_topo_allowed_cpus(t, allowed, MAXC);
	int n = uipc_topo_rank(t, ref, policy, flags, got, MAXC);
	int want = 0;
	bool own = flags & UIPC_TOPO_RANK_OWN_CORE;

	assert_true(na >= 0 && na <= MAXC);
	assert_true(n >= 0 && n <= MAXC);
	for (int i = 0; i < na; i++) {
		int c = allowed[i];
		bool qualifies = (own || !core_of(t, ref, c)) &&
		                 (policy != UIPC_TOPO_SAME_NODE ||
		                  uipc_topo_cpu_node(t, c) == uipc_topo_cpu_node(t, ref));
		want += qualifies;
	}
	assert_int_equal(n, want);
	for (int i = 0; i < n; i++) {
		bool is_allowed = false;

		for (int j = 0; j < na; j++)
			is_allowed |= allowed[j] == got[i];
		assert_true(is_allowed);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(got[i], got[j]);
		if (!own)
			assert_false(core_of(t, ref, got[i]));
		if (got[i] == ref)
			assert_int_equal(i, n - 1);
		if (policy != UIPC_TOPO_SPREAD && i > 0 && got[i] != ref)
			assert_true(uipc_topo_distance(t, ref, got[i - 1]) <=
			            uipc_topo_distance(t, ref, got[i]));
		if (policy == UIPC_TOPO_SPREAD && got[i] != ref) {
			/* A sibling of an earlier pick (or of the reference)
			 * must not precede a CPU on a still-unused core. */
			bool second = own && core_of(t, ref, got[i]);

			for (int j = 0; j < i; j++)
				second |= core_of(t, got[j], got[i]);
			for (int j = i + 1; second && j < n; j++) {
				bool fresh = got[j] != ref && !(own && core_of(t, ref, got[j]));

				for (int k = 0; k < j && fresh; k++)
					fresh = !core_of(t, got[k], got[j]);
				assert_false(fresh);
			}
		}
	}
}

static void check_all_rules(const uipc_topo *t)
{
	int cpus[MAXC];
	int n = uipc_topo_allowed_cpus(t, cpus, MAXC);

	for (int i = 0; i < n; i++)
		for (int p = UIPC_TOPO_NEAREST; p <= UIPC_TOPO_SAME_NODE; p++)
			for (unsigned f = 0; f <= UIPC_TOPO_RANK_OWN_CORE; f++)
				check_rules(t, cpus[i], (enum uipc_topo_policy)p, f);
}

/* ------------------------------------------------------------------------ */
/* hwloc: other machines                                                     */

static void intel_distances(void **state)
{
	uipc_topo *t = load_xml("intel-2s-smt.xml");
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;
	const unsigned all = UIPC_TOPO_KNOWS_CORES | UIPC_TOPO_KNOWS_L2 | UIPC_TOPO_KNOWS_L3 |
	                     UIPC_TOPO_KNOWS_NUMA | UIPC_TOPO_KNOWS_DISTANCES;

	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	assert_int_equal(info.source, UIPC_TOPO_SOURCE_XML);
	assert_int_equal(info.flags, all);
	assert_int_equal(info.cpus, 32);
	assert_int_equal(info.allowed, 32);
	assert_int_equal(info.cores, 16);
	assert_int_equal(info.l2, 16);
	assert_int_equal(info.l3, 2);
	assert_int_equal(info.packages, 2);
	assert_int_equal(info.nodes, 2);

	assert_int_equal(uipc_topo_distance(t, 0, 0), UIPC_TOPO_DIST_SELF);
	assert_int_equal(uipc_topo_distance(t, 0, 16), UIPC_TOPO_DIST_SMT);
	assert_int_equal(uipc_topo_distance(t, 16, 0), UIPC_TOPO_DIST_SMT);
	assert_int_equal(uipc_topo_distance(t, 0, 1), UIPC_TOPO_DIST_L3);
	assert_int_equal(uipc_topo_distance(t, 0, 23), UIPC_TOPO_DIST_L3);
	assert_int_equal(uipc_topo_distance(t, 0, 8), UIPC_TOPO_DIST_REMOTE);
	assert_int_equal(uipc_topo_distance(t, 31, 0), UIPC_TOPO_DIST_REMOTE);
	assert_int_equal(uipc_topo_distance(t, 0, 32), -EINVAL);
	assert_int_equal(uipc_topo_distance(t, -1, 0), -EINVAL);

	assert_int_equal(uipc_topo_cpu_node(t, 7), 0);
	assert_int_equal(uipc_topo_cpu_node(t, 8), 1);
	assert_int_equal(uipc_topo_cpu_node(t, 16), 0);
	assert_int_equal(uipc_topo_cpu_node(t, 24), 1);
	assert_int_equal(uipc_topo_cpu_node(t, 32), -EINVAL);
	assert_int_equal(uipc_topo_node_distance(t, 0, 0), 10);
	assert_int_equal(uipc_topo_node_distance(t, 0, 1), 21);
	assert_int_equal(uipc_topo_node_distance(t, 1, 0), 21);
	assert_int_equal(uipc_topo_node_distance(t, 0, 2), -EINVAL);
	uipc_topo_free(t);
}

static void intel_rank(void **state)
{
	uipc_topo *t = load_xml("intel-2s-smt.xml");

	/* Cores of the receiver's L3 first, then their siblings, then the
	 * other socket the same way; never core 0 (cpus 0 and 16). */
	ASSERT_RANK(t, 0, UIPC_TOPO_NEAREST, 0, 1, 2, 3, 4, 5, 6, 7, 17, 18, 19, 20, 21, 22, 23, 8,
	            9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
	/* Every core before any sibling, nearest first. */
	ASSERT_RANK(t, 0, UIPC_TOPO_SPREAD, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	            17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
	ASSERT_RANK(t, 0, UIPC_TOPO_SAME_NODE, 0, 1, 2, 3, 4, 5, 6, 7, 17, 18, 19, 20, 21, 22, 23);
	/* A receiver on a sibling thread of socket 1. */
	ASSERT_RANK(t, 25, UIPC_TOPO_SAME_NODE, 0, 8, 10, 11, 12, 13, 14, 15, 24, 26, 27, 28, 29,
	            30, 31);
	/* Asked for: the SMT sibling is nearest, the receiver's CPU last. */
	ASSERT_RANK(t, 0, UIPC_TOPO_SAME_NODE, UIPC_TOPO_RANK_OWN_CORE, 16, 1, 2, 3, 4, 5, 6, 7, 17,
	            18, 19, 20, 21, 22, 23, 0);
	/* Spread treats the receiver's core as taken: its sibling is a second thread. */
	ASSERT_RANK(t, 0, UIPC_TOPO_SPREAD, UIPC_TOPO_RANK_OWN_CORE, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	            11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
	            31, 0);
	check_all_rules(t);
	uipc_topo_free(t);
}

static void amd_ccx(void **state)
{
	uipc_topo *t = load_xml("amd-epyc-2ccd.xml");
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;

	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	assert_int_equal(info.l3, 4);
	assert_int_equal(info.nodes, 2);
	assert_int_equal(info.packages, 1);
	assert_int_equal(uipc_topo_distance(t, 0, 16), UIPC_TOPO_DIST_SMT);
	assert_int_equal(uipc_topo_distance(t, 0, 3), UIPC_TOPO_DIST_L3);
	assert_int_equal(uipc_topo_distance(t, 0, 19), UIPC_TOPO_DIST_L3);
	assert_int_equal(uipc_topo_distance(t, 0, 4), UIPC_TOPO_DIST_NODE);
	assert_int_equal(uipc_topo_distance(t, 5, 20), UIPC_TOPO_DIST_L3);
	assert_int_equal(uipc_topo_distance(t, 0, 8), UIPC_TOPO_DIST_REMOTE);
	assert_int_equal(uipc_topo_node_distance(t, 1, 0), 12);

	/* Own CCX (cores, then siblings), then the other CCX of the node,
	 * then the other node. */
	ASSERT_RANK(t, 0, UIPC_TOPO_NEAREST, 0, 1, 2, 3, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23, 8,
	            9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
	ASSERT_RANK(t, 13, UIPC_TOPO_NEAREST, 0, 12, 14, 15, 28, 30, 31, 8, 9, 10, 11, 24, 25, 26,
	            27, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
	ASSERT_RANK(t, 0, UIPC_TOPO_SPREAD, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	            17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31);
	check_all_rules(t);
	uipc_topo_free(t);
}

static void numa_distance_order(void **state)
{
	uipc_topo *t = load_xml("four-node-slit.xml");

	assert_int_equal(uipc_topo_node_distance(t, 0, 2), 12);
	assert_int_equal(uipc_topo_node_distance(t, 0, 1), 32);
	assert_int_equal(uipc_topo_distance(t, 0, 8), UIPC_TOPO_DIST_REMOTE);
	/* Node 2 is nearer to node 0 than nodes 1 and 3 are: all of its CPUs
	 * (siblings too) come first although their ids are higher. */
	ASSERT_RANK(t, 0, UIPC_TOPO_NEAREST, 0, 2, 3, 8, 10, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15);
	ASSERT_RANK(t, 6, UIPC_TOPO_NEAREST, 0, 4, 5, 12, 14, 13, 15, 0, 2, 8, 10, 1, 3, 9, 11);
	/* Spread: every core first, but still the nearer node first. */
	ASSERT_RANK(t, 0, UIPC_TOPO_SPREAD, 0, 2, 8, 10, 4, 6, 12, 14, 3, 9, 11, 5, 7, 13, 15);
	ASSERT_RANK(t, 0, UIPC_TOPO_SAME_NODE, 0, 2, 3);
	check_all_rules(t);
	uipc_topo_free(t);
}

static void restricted_cpuset(void **state)
{
	uipc_topo *t = load_xml("restricted-cpuset.xml");
	int cpus[MAXC];
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;

	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	assert_int_equal(info.cpus, 16);
	assert_int_equal(info.allowed, 6);
	assert_list(cpus, uipc_topo_allowed_cpus(t, cpus, MAXC), (const int[]){2, 3, 4, 5, 10, 11},
	            6);
	/* Disallowed CPUs are still described. */
	assert_int_equal(uipc_topo_distance(t, 2, 0), UIPC_TOPO_DIST_L3);
	assert_int_equal(uipc_topo_distance(t, 4, 12), UIPC_TOPO_DIST_SMT);

	/* Core 4's and 5's only allowed threads count as first threads. */
	ASSERT_RANK(t, 2, UIPC_TOPO_NEAREST, 0, 3, 4, 5, 11);
	ASSERT_RANK(t, 2, UIPC_TOPO_NEAREST, UIPC_TOPO_RANK_OWN_CORE, 10, 3, 4, 5, 11, 2);
	ASSERT_RANK(t, 2, UIPC_TOPO_SPREAD, UIPC_TOPO_RANK_OWN_CORE, 3, 4, 5, 10, 11, 2);
	/* A receiver outside the cpuset: every allowed CPU off its core. */
	ASSERT_RANK(t, 0, UIPC_TOPO_NEAREST, 0, 2, 3, 4, 5, 10, 11);
	ASSERT_RANK(t, 12, UIPC_TOPO_NEAREST, 0, 2, 3, 5, 10, 11);
	check_all_rules(t);
	uipc_topo_free(t);
}

static void restrict_override(void **state)
{
	uipc_topo *t = load_xml("intel-2s-smt.xml");
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;
	int cpus[MAXC];

	assert_int_equal(uipc_topo_restrict(t, (const int[]){17, 0, 1, 16, 8, 9}, 6), 6);
	ASSERT_RANK(t, 0, UIPC_TOPO_NEAREST, 0, 1, 17, 8, 9);
	ASSERT_RANK(t, 0, UIPC_TOPO_SAME_NODE, 0, 1, 17);
	/* Intersection: 2 was not allowed any more. */
	assert_int_equal(uipc_topo_restrict(t, (const int[]){0, 1, 2}, 3), 2);
	assert_list(cpus, uipc_topo_allowed_cpus(t, cpus, MAXC), (const int[]){0, 1}, 2);
	/* A CPU the machine lacks: refused, nothing changed. */
	assert_int_equal(uipc_topo_restrict(t, (const int[]){0, 99}, 2), -EINVAL);
	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	assert_int_equal(info.allowed, 2);
	assert_int_equal(uipc_topo_restrict(t, NULL, 1), -EINVAL);
	assert_int_equal(uipc_topo_restrict(t, NULL, 0), 0);
	assert_int_equal(
	    uipc_topo_rank(t, 0, UIPC_TOPO_NEAREST, UIPC_TOPO_RANK_OWN_CORE, cpus, MAXC), 0);
	uipc_topo_free(t);
}

static void single_core(void **state)
{
	uipc_topo *t = load_xml("single-core.xml");
	int cpu = -1;

	assert_int_equal(uipc_topo_rank(t, 0, UIPC_TOPO_NEAREST, 0, NULL, 0), 0);
	assert_int_equal(uipc_topo_rank(t, 0, UIPC_TOPO_SPREAD, 0, NULL, 0), 0);
	assert_int_equal(uipc_topo_place(t, 0, UIPC_TOPO_NEAREST, 0, 0, &cpu), -ENOENT);
	assert_int_equal(cpu, -1);
	ASSERT_RANK(t, 0, UIPC_TOPO_NEAREST, UIPC_TOPO_RANK_OWN_CORE, 0);
	assert_int_equal(uipc_topo_place(t, 0, UIPC_TOPO_SPREAD, UIPC_TOPO_RANK_OWN_CORE, 5, &cpu),
	                 0);
	assert_int_equal(cpu, 0);
	check_all_rules(t);
	uipc_topo_free(t);

	/* The same machine as a synthetic description. Descriptions here
	 * name their NUMA level: without one, hwloc 2.9 inserts it with an
	 * overlapping memcpy that valgrind reports. */
	t = load_syn("pack:1 [numa] core:1 pu:1");
	assert_int_equal(uipc_topo_rank(t, 0, UIPC_TOPO_NEAREST, 0, NULL, 0), 0);
	uipc_topo_free(t);
}

static void shared_l2(void **state)
{
	/* Clusters of 4 cores sharing an L2 (as Intel E-cores). */
	uipc_topo *t = load_syn("pack:1 [numa] l3:1 l2:2 core:4 pu:1");
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;

	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	assert_int_equal(info.source, UIPC_TOPO_SOURCE_SYNTHETIC);
	assert_int_equal(info.l2, 2);
	assert_int_equal(uipc_topo_distance(t, 0, 3), UIPC_TOPO_DIST_L2);
	assert_int_equal(uipc_topo_distance(t, 0, 4), UIPC_TOPO_DIST_L3);
	ASSERT_RANK(t, 5, UIPC_TOPO_NEAREST, 0, 4, 6, 7, 0, 1, 2, 3);
	check_all_rules(t);
	uipc_topo_free(t);
}

static void synthetic_intel(void **state)
{
	/* The Intel machine as a synthetic string: same classes as its XML,
	 * no distances (synthetic topologies have none). */
	uipc_topo *t = load_syn("pack:2 [numa] l3:1 l2:8 core:1 "
	                        "pu:2(indexes=0,16,1,17,2,18,3,19,4,20,5,21,6,22,7,23,8,24,9,25,10,"
	                        "26,11,27,12,28,13,29,14,30,15,31)");
	uipc_topo *x = load_xml("intel-2s-smt.xml");
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;

	for (int a = 0; a < 32; a++)
		for (int b = 0; b < 32; b++)
			assert_int_equal(uipc_topo_distance(t, a, b), uipc_topo_distance(x, a, b));
	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	assert_false(info.flags & UIPC_TOPO_KNOWS_DISTANCES);
	assert_int_equal(uipc_topo_node_distance(t, 0, 1), -ENODATA);
	ASSERT_RANK(t, 0, UIPC_TOPO_SAME_NODE, 0, 1, 2, 3, 4, 5, 6, 7, 17, 18, 19, 20, 21, 22, 23);
	uipc_topo_free(t);
	uipc_topo_free(x);
}

static void place_and_truncate(void **state)
{
	uipc_topo *t = load_xml("intel-2s-smt.xml");
	int full[MAXC], part[4] = {-7, -7, -7, -7};
	int n = uipc_topo_rank(t, 3, UIPC_TOPO_NEAREST, 0, full, MAXC);
	int cpu = -1;

	assert_int_equal(n, 30);
	assert_int_equal(uipc_topo_rank(t, 3, UIPC_TOPO_NEAREST, 0, NULL, 0), 30);
	assert_int_equal(uipc_topo_rank(t, 3, UIPC_TOPO_NEAREST, 0, part, 3), 30);
	assert_list(part, 3, full, 3);
	assert_int_equal(part[3], -7);
	for (unsigned i = 0; i < 70; i++) {
		assert_int_equal(uipc_topo_place(t, 3, UIPC_TOPO_NEAREST, 0, i, &cpu), 0);
		assert_int_equal(cpu, full[i % 30]);
	}
	uipc_topo_free(t);
}

static void describe(void **state)
{
	uipc_topo *t = load_xml("intel-2s-smt.xml");
	char buf[1024], small[12];
	int n = uipc_topo_describe(t, buf, sizeof(buf));

	assert_true(n > 0 && n < (int)sizeof(buf));
	assert_int_equal((int)strlen(buf), n);
	assert_non_null(strstr(buf, "topology: xml\n"));
	assert_non_null(strstr(buf, "cpus: 32 (32 allowed), cores: 16, l2: 16, l3: 2, packages: 2, "
	                            "nodes: 2\n"));
	assert_non_null(strstr(buf, "unknown: nothing\n"));
	assert_non_null(strstr(buf, "node 1: cpus 8-15,24-31, distances 21 10\n"));
	assert_non_null(strstr(buf, "allowed: 0-31\n"));
	assert_int_equal(uipc_topo_describe(t, small, sizeof(small)), n);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, buf, sizeof(small) - 1);
	assert_int_equal(uipc_topo_describe(t, NULL, 0), n);
	assert_int_equal(uipc_topo_describe(t, NULL, 5), -EINVAL);
	uipc_topo_free(t);

	t = load_xml("restricted-cpuset.xml");
	assert_true(uipc_topo_describe(t, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "allowed: 2-5,10-11\n"));
	uipc_topo_free(t);
}

static void bad_sources(void **state)
{
	char path[] = "/tmp/uipc-topo-XXXXXX";
	uipc_topo *t = (uipc_topo *)&t;
	int fd;

	assert_int_equal(uipc_topo_new_synthetic("pack:2 bogus:3", &t), -EINVAL);
	assert_int_equal(uipc_topo_new_synthetic("", &t), -EINVAL);
	assert_int_equal(uipc_topo_new_from_xml("/nonexistent/topology.xml", &t), -ENOENT);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "<topology>not really", 20), 20);
	close(fd);
	assert_int_equal(uipc_topo_new_from_xml(path, &t), -EINVAL);
	unlink(path);
	assert_ptr_equal(t, (uipc_topo *)&t);
}

static void env_xml(void **state)
{
	char path[1024];
	uipc_topo *t = NULL;
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;

	snprintf(path, sizeof(path), "%s/amd-epyc-2ccd.xml", topo_dir());
	setenv("UIPC_TOPOLOGY_XML", path, 1);
	assert_int_equal(uipc_topo_new(&t), 0);
	unsetenv("UIPC_TOPOLOGY_XML");
	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	assert_int_equal(info.source, UIPC_TOPO_SOURCE_XML);
	assert_int_equal(info.l3, 4);
	assert_false(info.flags & UIPC_TOPO_THIS_MACHINE);
	uipc_topo_free(t);
}

static void alloc_failures(void **state)
{
	int cpus[MAXC];
	uipc_topo *t = NULL, *x = load_xml("intel-2s-smt.xml");
	int r, i, cpu = -1;

	for (i = 0; i < 64; i++) {
		atomic_store(&uipc__faults.alloc, i);
		r = uipc_topo_new_synthetic("pack:2 [numa] core:2 pu:2", &t);
		atomic_store(&uipc__faults.alloc, -1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_null(t);
	}
	assert_int_equal(r, 0);
	assert_true(i > 0);
	uipc_topo_free(t);

	atomic_store(&uipc__faults.alloc, 0);
	assert_int_equal(uipc_topo_rank(x, 0, UIPC_TOPO_NEAREST, 0, cpus, MAXC), -ENOMEM);
	atomic_store(&uipc__faults.alloc, 0);
	assert_int_equal(uipc_topo_place(x, 0, UIPC_TOPO_NEAREST, 0, 0, &cpu), -ENOMEM);
	atomic_store(&uipc__faults.alloc, 1);
	assert_int_equal(uipc_topo_place(x, 0, UIPC_TOPO_NEAREST, 0, 0, &cpu), -ENOMEM);
	atomic_store(&uipc__faults.alloc, -1);
	assert_int_equal(cpu, -1);
	uipc_topo_free(x);
}

/* ------------------------------------------------------------------------ */
/* sysfs fallback                                                            */

static char sysroot[64];

static void __attribute__((format(printf, 2, 3))) put(const char *rel, const char *fmt, ...)
{
	char path[512], text[512];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", sysroot, rel);
	for (char *p = path + strlen(sysroot) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", text);
	fclose(f);
}

/* 2 packages x 2 cores x 2 threads, cpu = 4 * thread + core (cores 0-1 on
 * package 0); L2 per core, L3 per package, one node per package. */
static void fake_sysfs(bool caches, bool numa)
{
	char rel[128];

	strcpy(sysroot, "/tmp/uipc-sysfs-XXXXXX");
	assert_non_null(mkdtemp(sysroot));
	put("cpu/online", "0-7");
	for (int cpu = 0; cpu < 8; cpu++) {
		int core = cpu % 4, pkg = core / 2;

		snprintf(rel, sizeof(rel), "cpu/cpu%d/topology/thread_siblings_list", cpu);
		put(rel, "%d,%d", core, core + 4);
		snprintf(rel, sizeof(rel), "cpu/cpu%d/topology/physical_package_id", cpu);
		put(rel, "%d", pkg);
		if (!caches)
			continue;
		for (int k = 0; k < 4; k++) {
			static const char *const type[] = {"Data", "Instruction", "Unified",
			                                   "Unified"};
			static const int level[] = {1, 1, 2, 3};

			snprintf(rel, sizeof(rel), "cpu/cpu%d/cache/index%d/level", cpu, k);
			put(rel, "%d", level[k]);
			snprintf(rel, sizeof(rel), "cpu/cpu%d/cache/index%d/type", cpu, k);
			put(rel, "%s", type[k]);
			snprintf(rel, sizeof(rel), "cpu/cpu%d/cache/index%d/shared_cpu_list", cpu,
			         k);
			if (k < 3)
				put(rel, "%d,%d", core, core + 4);
			else
				put(rel, "%d-%d,%d-%d", 2 * pkg, 2 * pkg + 1, 2 * pkg + 4,
				    2 * pkg + 5);
		}
	}
	if (numa) {
		put("node/online", "0-1");
		put("node/node0/cpulist", "0-1,4-5");
		put("node/node1/cpulist", "2-3,6-7");
		put("node/node0/distance", "10 20");
		put("node/node1/distance", "20 10");
	}
}

static void rm_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sysroot);
	assert_int_equal(system(cmd), 0);
}

static void sysfs_full(void **state)
{
	uipc_topo *t = NULL;
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;
	char buf[1024];

	fake_sysfs(true, true);
	assert_int_equal(uipc__topo_new_sysfs(sysroot, &t), 0);
	rm_tree();
	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	assert_int_equal(info.source, UIPC_TOPO_SOURCE_SYSFS);
	assert_int_equal(info.flags, UIPC_TOPO_KNOWS_CORES | UIPC_TOPO_KNOWS_L2 |
	                                 UIPC_TOPO_KNOWS_L3 | UIPC_TOPO_KNOWS_NUMA |
	                                 UIPC_TOPO_KNOWS_DISTANCES);
	assert_int_equal(info.cpus, 8);
	assert_int_equal(info.cores, 4);
	assert_int_equal(info.l2, 4);
	assert_int_equal(info.l3, 2);
	assert_int_equal(info.packages, 2);
	assert_int_equal(info.nodes, 2);
	assert_int_equal(uipc_topo_distance(t, 1, 5), UIPC_TOPO_DIST_SMT);
	assert_int_equal(uipc_topo_distance(t, 0, 5), UIPC_TOPO_DIST_L3);
	assert_int_equal(uipc_topo_distance(t, 0, 2), UIPC_TOPO_DIST_REMOTE);
	assert_int_equal(uipc_topo_cpu_node(t, 6), 1);
	assert_int_equal(uipc_topo_node_distance(t, 0, 1), 20);
	ASSERT_RANK(t, 0, UIPC_TOPO_NEAREST, 0, 1, 5, 2, 3, 6, 7);
	ASSERT_RANK(t, 0, UIPC_TOPO_SPREAD, 0, 1, 2, 3, 5, 6, 7);
	check_all_rules(t);
	assert_true(uipc_topo_describe(t, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "topology: sysfs\n"));
	assert_non_null(strstr(buf, "node 0: cpus 0-1,4-5, distances 10 20\n"));
	uipc_topo_free(t);
}

static void sysfs_sparse(void **state)
{
	uipc_topo *t = NULL;
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;
	char buf[1024];

	/* No cache directories, no NUMA: only cores are known, and the
	 * fallback says so instead of guessing. */
	fake_sysfs(false, false);
	assert_int_equal(uipc__topo_new_sysfs(sysroot, &t), 0);
	rm_tree();
	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	/* One node is trivially at distance 10 from itself. */
	assert_int_equal(info.flags, UIPC_TOPO_KNOWS_CORES | UIPC_TOPO_KNOWS_DISTANCES);
	assert_int_equal(info.nodes, 1);
	assert_int_equal(uipc_topo_distance(t, 1, 5), UIPC_TOPO_DIST_SMT);
	assert_int_equal(uipc_topo_distance(t, 0, 2), UIPC_TOPO_DIST_NODE);
	assert_int_equal(uipc_topo_node_distance(t, 0, 0), 10);
	ASSERT_RANK(t, 0, UIPC_TOPO_NEAREST, 0, 1, 2, 3, 5, 6, 7);
	assert_true(uipc_topo_describe(t, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "unknown: l2-sharing l3-sharing numa-nodes\n"));
	uipc_topo_free(t);
}

static void sysfs_bad(void **state)
{
	uipc_topo *t = (uipc_topo *)&t;

	strcpy(sysroot, "/tmp/uipc-sysfs-XXXXXX");
	assert_non_null(mkdtemp(sysroot));
	assert_int_equal(uipc__topo_new_sysfs(sysroot, &t), -ENOENT);
	put("cpu/online", "3-1");
	assert_int_equal(uipc__topo_new_sysfs(sysroot, &t), -EIO);
	put("cpu/online", "0,x");
	assert_int_equal(uipc__topo_new_sysfs(sysroot, &t), -EIO);
	put("cpu/online", "99999");
	assert_int_equal(uipc__topo_new_sysfs(sysroot, &t), -EIO);
	rm_tree();
	assert_ptr_equal(t, (uipc_topo *)&t);
}

static int affinity_count(void)
{
	cpu_set_t set;

	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	return CPU_COUNT(&set);
}

static void sysfs_this_machine(void **state)
{
	uipc_topo *s = NULL, *h = NULL;
	struct uipc_topo_info si = UIPC_TOPO_INFO_INIT, hi = UIPC_TOPO_INFO_INIT;

	assert_int_equal(uipc__topo_new_sysfs(NULL, &s), 0);
	assert_int_equal(uipc_topo_get_info(s, &si), 0);
	assert_true(si.flags & UIPC_TOPO_THIS_MACHINE);
	assert_int_equal(si.cpus, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	assert_int_equal(si.allowed, (unsigned)affinity_count());
	check_all_rules(s);

	/* Both sources describe the same machine alike. */
	if (UIPC_HAVE_HWLOC) {
		assert_int_equal(uipc_topo_new(&h), 0);
		assert_int_equal(uipc_topo_get_info(h, &hi), 0);
		assert_int_equal(hi.source, UIPC_TOPO_SOURCE_HWLOC);
		assert_int_equal(hi.cpus, si.cpus);
		assert_int_equal(hi.allowed, si.allowed);
		assert_int_equal(hi.nodes, si.nodes);
		if ((si.flags & UIPC_TOPO_KNOWS_L3) && hi.l3 > 0)
			assert_int_equal(hi.l3, si.l3);
		for (int a = 0; a < (int)si.cpus; a++)
			for (int b = 0; b < (int)si.cpus; b++)
				if (si.flags & UIPC_TOPO_KNOWS_L3)
					assert_int_equal(uipc_topo_distance(h, a, b),
					                 uipc_topo_distance(s, a, b));
		uipc_topo_free(h);
	}
	uipc_topo_free(s);
}

/* ------------------------------------------------------------------------ */
/* This machine: threads and memory                                          */

static cpu_set_t saved_affinity;

static int save_affinity(void **state)
{
	return sched_getaffinity(0, sizeof(saved_affinity), &saved_affinity);
}

static int restore_affinity(void **state)
{
	return sched_setaffinity(0, sizeof(saved_affinity), &saved_affinity);
}

static void pin_and_locate(void **state)
{
	uipc_topo *t = NULL;
	int cpus[256], cpu;
	int n;

	assert_int_equal(uipc_topo_new(&t), 0);
	n = uipc_topo_allowed_cpus(t, cpus, 256);
	assert_true(n >= 1 && n <= 256);
	for (int i = 0; i < n; i++) {
		assert_int_equal(uipc_topo_pin(0, cpus[i]), 0);
		cpu = -1;
		assert_int_equal(uipc_topo_thread_cpu(0, 0, &cpu), 0);
		assert_int_equal(cpu, cpus[i]);
		cpu = -1;
		assert_int_equal(uipc_topo_thread_cpu(0, uipc__gettid(), &cpu), 0);
		assert_int_equal(cpu, cpus[i]);
		cpu = -1;
		assert_int_equal(uipc_topo_thread_cpu(getpid(), uipc__gettid(), &cpu), 0);
		assert_int_equal(cpu, cpus[i]);
		/* Pinning by thread id reaches the same thread. */
		assert_int_equal(uipc_topo_pin(uipc__gettid(), cpus[n - 1 - i]), 0);
		assert_int_equal(uipc_topo_thread_cpu(0, 0, &cpu), 0);
		assert_int_equal(cpu, cpus[n - 1 - i]);
	}
	uipc_topo_free(t);

	cpu = -1;
	assert_int_equal(uipc_topo_pin(-1, 0), -EINVAL);
	assert_int_equal(uipc_topo_pin(0, -1), -EINVAL);
	assert_int_equal(uipc_topo_pin(0, 1 << 20), -EINVAL);
	/* A CPU this machine does not have (within the mask size). */
	assert_int_equal(uipc_topo_pin(0, 8000), -EINVAL);
	assert_int_equal(uipc_topo_pin(0x3ffffff0, cpus[0]), -ESRCH);
	assert_int_equal(uipc_topo_thread_cpu(0, 0x3ffffff0, &cpu), -ESRCH);
	assert_int_equal(uipc_topo_thread_cpu(getpid(), 0, &cpu), -EINVAL);
	assert_int_equal(uipc_topo_thread_cpu(0, 0, NULL), -EINVAL);
	assert_int_equal(uipc_topo_thread_cpu(-1, 1, &cpu), -EINVAL);
	assert_int_equal(cpu, -1);
}

/* Another process: a child pins itself, the parent finds it there. */
static void other_process_cpu(void **state)
{
	int cpus[256], up[2], down[2], cpu = -1, n;
	uipc_topo *t = NULL;
	char c = 0;
	pid_t pid;

	assert_int_equal(uipc_topo_new(&t), 0);
	n = uipc_topo_allowed_cpus(t, cpus, 256);
	uipc_topo_free(t);
	assert_true(n >= 1);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char go = uipc_topo_pin(0, cpus[n - 1]) == 0 ? 'y' : 'n';

		/* Report, then block (off-CPU) until the parent has looked;
		 * the parent closing its end also ends the wait. */
		close(down[1]);
		if (write(up[1], &go, 1) != 1 || read(down[0], &go, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	assert_int_equal(read(up[0], &c, 1), 1);
	assert_int_equal(c, 'y');
	assert_int_equal(uipc_topo_thread_cpu(pid, pid, &cpu), 0);
	assert_int_equal(cpu, cpus[n - 1]);
	close(down[1]);
	close(up[0]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	/* Reaped: no such thread any more. */
	assert_int_equal(uipc_topo_thread_cpu(pid, pid, &cpu), -ESRCH);
}

static void receiver_cpu(void **state)
{
	uipc_ctx *ctx = NULL;
	uipc_rx *rx = NULL;
	uipc_tx *tx = NULL;
	uipc_topo *t = NULL;
	int cpus[256], n, cpu;

	assert_int_equal(uipc_topo_new(&t), 0);
	n = uipc_topo_allowed_cpus(t, cpus, 256);
	assert_true(n >= 1);
	assert_int_equal(uipc_ctx_new(test_backend(), &ctx), 0);
	assert_int_equal(uipc_rx_new(ctx, 0, &rx), 0);
	assert_int_equal(uipc_tx_new(rx, 3, &tx), 0);
	for (int i = 0; i < n && i < 4; i++) {
		assert_int_equal(uipc_topo_pin(0, cpus[i]), 0);
		cpu = -1;
		assert_int_equal(uipc_topo_rx_cpu(rx, &cpu), 0);
		assert_int_equal(cpu, cpus[i]);
		cpu = -1;
		assert_int_equal(uipc_topo_tx_peer_cpu(tx, &cpu), 0);
		assert_int_equal(cpu, cpus[i]);
		assert_true(uipc_topo_cpu_node(t, cpu) >= 0);
	}
	cpu = -1;
	assert_int_equal(uipc_topo_rx_cpu(NULL, &cpu), -EINVAL);
	assert_int_equal(uipc_topo_rx_cpu(rx, NULL), -EINVAL);
	assert_int_equal(uipc_topo_tx_peer_cpu(NULL, &cpu), -EINVAL);
	assert_int_equal(uipc_topo_tx_peer_cpu(tx, NULL), -EINVAL);
	assert_int_equal(cpu, -1);
	uipc_tx_free(tx);
	uipc_rx_free(rx);
	uipc_ctx_free(ctx);
	uipc_topo_free(t);
}

static void numa_memory(void **state)
{
	size_t len = 4 * (size_t)sysconf(_SC_PAGESIZE);
	char *priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int node = -1, fd;
	char *shared;

	assert_true(priv != MAP_FAILED);
	assert_int_equal(uipc_topo_mem_bind(NULL, len, 0), -EINVAL);
	assert_int_equal(uipc_topo_mem_bind(priv, 0, 0), -EINVAL);
	assert_int_equal(uipc_topo_mem_bind(priv, len, -1), -EINVAL);
	assert_int_equal(uipc_topo_mem_node(NULL, &node), -EINVAL);
	assert_int_equal(uipc_topo_mem_node(priv, NULL), -EINVAL);
	if (!UIPC_HAVE_NUMA) {
		assert_int_equal(uipc_topo_mem_bind(priv, len, 0), -EOPNOTSUPP);
		assert_int_equal(uipc_topo_mem_node(priv, &node), -EOPNOTSUPP);
		assert_int_equal(uipc__mem_bind_local(priv, len, &node), -EOPNOTSUPP);
		assert_int_equal(node, -1);
		munmap(priv, len);
		return;
	}
	assert_int_equal(uipc_topo_mem_bind(priv, len, 4095), -EINVAL);
	/* Unaligned start and length are rounded out to pages. */
	assert_int_equal(uipc_topo_mem_bind(priv + 100, len - 200, 0), 0);
	memset(priv, 1, len);
	assert_int_equal(uipc_topo_mem_node(priv + len - 1, &node), 0);
	assert_int_equal(node, 0);

	/* Shared memfd pages, as channel rings and descriptors are. */
	fd = memfd_create("uipc-topo-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(shared != MAP_FAILED);
	node = -1;
	assert_int_equal(uipc__mem_bind_local(shared, len, &node), 0);
	assert_int_equal(node, uipc__cpu_node(sched_getcpu()));
	memset(shared, 1, len);
	assert_int_equal(uipc_topo_mem_node(shared, &node), 0);
	assert_int_equal(node, uipc__cpu_node(sched_getcpu()));
	munmap(shared, len);
	close(fd);
	munmap(priv, len);
}

static void names_and_args(void **state)
{
	uipc_topo *t = NULL;
	enum uipc_topo_policy p = UIPC_TOPO_SPREAD;
	struct uipc_topo_info info = UIPC_TOPO_INFO_INIT;
	int cpus[4], cpu = -1;

	assert_string_equal(uipc_topo_dist_name(UIPC_TOPO_DIST_SELF), "self");
	assert_string_equal(uipc_topo_dist_name(UIPC_TOPO_DIST_SMT), "smt");
	assert_string_equal(uipc_topo_dist_name(UIPC_TOPO_DIST_L2), "l2");
	assert_string_equal(uipc_topo_dist_name(UIPC_TOPO_DIST_L3), "l3");
	assert_string_equal(uipc_topo_dist_name(UIPC_TOPO_DIST_NODE), "node");
	assert_string_equal(uipc_topo_dist_name(UIPC_TOPO_DIST_REMOTE), "remote");
	assert_null(uipc_topo_dist_name((enum uipc_topo_dist)6));
	assert_null(uipc_topo_dist_name((enum uipc_topo_dist) - 1));
	assert_string_equal(uipc_topo_source_name(UIPC_TOPO_SOURCE_SYSFS), "sysfs");
	assert_null(uipc_topo_source_name((enum uipc_topo_source)0));
	for (int i = UIPC_TOPO_NEAREST; i <= UIPC_TOPO_SAME_NODE; i++) {
		assert_int_equal(
		    uipc_topo_policy_parse(uipc_topo_policy_name((enum uipc_topo_policy)i), &p), 0);
		assert_int_equal(p, i);
	}
	assert_int_equal(uipc_topo_policy_parse("closest", &p), -EINVAL);
	assert_int_equal(uipc_topo_policy_parse(NULL, &p), -EINVAL);
	assert_int_equal(uipc_topo_policy_parse("spread", NULL), -EINVAL);
	assert_int_equal(p, UIPC_TOPO_SAME_NODE);
	assert_null(uipc_topo_policy_name((enum uipc_topo_policy)3));

	assert_int_equal(uipc_topo_new(NULL), -EINVAL);
	assert_int_equal(uipc_topo_new_from_xml(NULL, &t), -EINVAL);
	assert_int_equal(uipc_topo_new_from_xml("x.xml", NULL), -EINVAL);
	assert_int_equal(uipc_topo_new_synthetic(NULL, &t), -EINVAL);
	if (!UIPC_HAVE_HWLOC)
		assert_int_equal(uipc_topo_new_synthetic("pu:2", &t), -EOPNOTSUPP);
	assert_null(t);
	uipc_topo_free(NULL);
	assert_int_equal(uipc_topo_get_info(NULL, &info), -EINVAL);
	assert_int_equal(uipc_topo_describe(NULL, NULL, 0), -EINVAL);
	assert_int_equal(uipc_topo_allowed_cpus(NULL, cpus, 4), -EINVAL);
	assert_int_equal(uipc_topo_distance(NULL, 0, 0), -EINVAL);
	assert_int_equal(uipc_topo_cpu_node(NULL, 0), -EINVAL);
	assert_int_equal(uipc_topo_node_distance(NULL, 0, 0), -EINVAL);
	assert_int_equal(uipc_topo_rank(NULL, 0, UIPC_TOPO_NEAREST, 0, cpus, 4), -EINVAL);
	assert_int_equal(uipc_topo_place(NULL, 0, UIPC_TOPO_NEAREST, 0, 0, &cpu), -EINVAL);

	assert_int_equal(uipc_topo_new(&t), 0);
	assert_int_equal(uipc_topo_get_info(t, NULL), -EINVAL);
	assert_int_equal(uipc_topo_allowed_cpus(t, NULL, 4), -EINVAL);
	assert_int_equal(uipc_topo_rank(t, 0, UIPC_TOPO_NEAREST, 0, NULL, 4), -EINVAL);
	assert_int_equal(uipc_topo_rank(t, 0, (enum uipc_topo_policy)3, 0, cpus, 4), -EINVAL);
	assert_int_equal(uipc_topo_rank(t, 0, (enum uipc_topo_policy) - 1, 0, cpus, 4), -EINVAL);
	assert_int_equal(uipc_topo_rank(t, 0, UIPC_TOPO_NEAREST, 2, cpus, 4), -EINVAL);
	assert_int_equal(uipc_topo_rank(t, -1, UIPC_TOPO_NEAREST, 0, cpus, 4), -EINVAL);
	assert_int_equal(uipc_topo_rank(t, 9000, UIPC_TOPO_NEAREST, 0, cpus, 4), -EINVAL);
	assert_int_equal(uipc_topo_place(t, 0, UIPC_TOPO_NEAREST, 0, 0, NULL), -EINVAL);
	assert_int_equal(uipc_topo_place(t, 9000, UIPC_TOPO_NEAREST, 0, 0, &cpu), -EINVAL);
	assert_int_equal(cpu, -1);
	assert_int_equal(uipc_topo_node_distance(t, 0, 4000), -EINVAL);
	assert_int_equal(uipc_topo_get_info(t, &info), 0);
	assert_true(info.flags & UIPC_TOPO_THIS_MACHINE);
	assert_int_equal(info.source,
	                 UIPC_HAVE_HWLOC ? UIPC_TOPO_SOURCE_HWLOC : UIPC_TOPO_SOURCE_SYSFS);
	uipc_topo_free(t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest hwloc[] = {
	    cmocka_unit_test(intel_distances),   cmocka_unit_test(intel_rank),
	    cmocka_unit_test(amd_ccx),           cmocka_unit_test(numa_distance_order),
	    cmocka_unit_test(restricted_cpuset), cmocka_unit_test(restrict_override),
	    cmocka_unit_test(single_core),       cmocka_unit_test(shared_l2),
	    cmocka_unit_test(synthetic_intel),   cmocka_unit_test(place_and_truncate),
	    cmocka_unit_test(describe),          cmocka_unit_test(bad_sources),
	    cmocka_unit_test(env_xml),           cmocka_unit_test(alloc_failures),
	};
	const struct CMUnitTest sysfs[] = {
	    cmocka_unit_test(sysfs_full),
	    cmocka_unit_test(sysfs_sparse),
	    cmocka_unit_test(sysfs_bad),
	    cmocka_unit_test(sysfs_this_machine),
	};
	const struct CMUnitTest machine[] = {
	    cmocka_unit_test_setup_teardown(pin_and_locate, save_affinity, restore_affinity),
	    cmocka_unit_test(other_process_cpu),
	    cmocka_unit_test_setup_teardown(receiver_cpu, save_affinity, restore_affinity),
	    cmocka_unit_test(numa_memory),
	    cmocka_unit_test(names_and_args),
	};
	const char *group = argc > 1 ? argv[1] : "all";
	int r = 0;

	if (strcmp(group, "hwloc") == 0 || strcmp(group, "all") == 0) {
		if (!UIPC_HAVE_HWLOC) {
			printf("skip: built without hwloc (-Dhwloc=disabled): no XML or synthetic "
			       "topologies\n");
			if (strcmp(group, "hwloc") == 0)
				return T_SKIP;
		} else {
			r |= cmocka_run_group_tests_name("topo-hwloc", hwloc, NULL, NULL);
		}
	}
	if (strcmp(group, "sysfs") == 0 || strcmp(group, "all") == 0)
		r |= cmocka_run_group_tests_name("topo-sysfs", sysfs, NULL, NULL);
	if (strcmp(group, "machine") == 0 || strcmp(group, "all") == 0)
		r |= cmocka_run_group_tests_name("topo-machine", machine, NULL, NULL);
	return r;
}
