/* sluice-probe: run one active probe (lib/probe, the same state machine as the prober thread)
 * against IP PORT and print the result as one JSON line. The integration tests point it at
 * scripted pool and non-pool servers in network namespaces.
 *   sluice-probe [-t timeout_ms] [-b banner_ms] [-n (no TLS)] [-s source] IP PORT */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_cfg.h"
#include "sl_probe.h"

int
main(int argc, char **argv)
{
	struct sl_probe_params p = {
		.enabled = true, .timeout_ms = 2000, .banner_ms = 300, .concurrency = 1, .tls = true,
	};
	struct sl_probe_entry e;
	struct sl_cidr c;
	char ans[SL_PROBE_ANSWER_MAX + 1];
	int o, rc;

	while ((o = getopt(argc, argv, "t:b:ns:")) != -1) {
		switch (o) {
		case 't':
			p.timeout_ms = (uint32_t)atoi(optarg);
			break;
		case 'b':
			p.banner_ms = (uint32_t)atoi(optarg);
			break;
		case 'n':
			p.tls = false;
			break;
		case 's':
			if (sl_cidr_parse(optarg, &c) < 0) {
				fprintf(stderr, "sluice-probe: -s %s: not an address\n", optarg);
				return 2;
			}
			memcpy(p.source, c.addr, 16);
			p.has_source = true;
			break;
		default:
			fprintf(stderr, "usage: sluice-probe [-t ms] [-b ms] [-n] [-s source] IP PORT\n");
			return 2;
		}
	}
	if (argc - optind != 2 || sl_cidr_parse(argv[optind], &c) < 0 || atoi(argv[optind + 1]) <= 0 ||
	    atoi(argv[optind + 1]) > 65535) {
		fprintf(stderr, "usage: sluice-probe [-t ms] [-b ms] [-n] [-s source] IP PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	rc = sl_probe_run_one(&p, c.addr, (uint16_t)atoi(argv[optind + 1]), &e);
	if (rc < 0) {
		fprintf(stderr, "sluice-probe: %s\n", strerror(-rc));
		return 1;
	}
	for (unsigned int i = 0; i < e.answer_len; i++)
		ans[i] = e.answer[i] >= 0x20 && e.answer[i] < 0x7f && e.answer[i] != '"' &&
				 e.answer[i] != '\\' ? (char)e.answer[i] : '.';
	ans[e.answer_len] = '\0';
	printf("{\"result\":\"%s\",\"protocol\":\"%s\",\"tls\":%s,\"what\":\"%s\",\"answer\":\"%s\","
	       "\"latency_ms\":%u}\n", sl_probe_result_name(e.result),
		e.result == SL_PROBE_R_pool ? sl_probe_proto_name(e.proto) : "",
		e.tls ? "true" : "false", e.what, ans, e.latency_ms);
	return 0;
}
