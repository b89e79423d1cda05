/* community_id.c: prints the Community ID (v1, seed 0) sluice computes for each packet of a
 * capture, one line per packet ("-" when sluice's parser gives the packet no flow), so that
 * an integration test can compare sluice's flow hash with tshark's own (communityid) on
 * TCP, UDP, ICMP and IPv6 in both directions. Uses lib/pkt's parser and lib/report's hash,
 * the code event lines use. usage: sluice-community-id FILE.pcap */
#include <stdio.h>

#include <pcap/pcap.h>

#include "sl_pkt.h"
#include "sl_report.h"

int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE], cid[SL_COMMUNITY_ID_LEN];
	struct pcap_pkthdr *h;
	const u_char *p;
	pcap_t *pc;
	int lt, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE.pcap\n", argv[0]);
		return 2;
	}
	pc = pcap_open_offline(argv[1], err);
	if (pc == NULL) {
		fprintf(stderr, "%s: %s\n", argv[1], err);
		return 1;
	}
	lt = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &h, &p)) == 1) {
		struct sl_pkt k;
		uint16_t sp, dp;

		if (sl_pkt_parse(lt, p, h->caplen, h->caplen, h->len, &k) != SL_PKT_handled) {
			puts("-");
			continue;
		}
		sp = k.sport;
		dp = k.dport;
		if (k.proto == 1 || k.proto == 58) { /* type and code stand for the ports */
			sp = p[k.l4_off];
			dp = p[k.l4_off + 1];
		}
		sl_community_id(0, k.src, k.dst, k.proto, sp, dp, cid, sizeof(cid));
		puts(cid);
	}
	pcap_close(pc);
	return rc == -2 ? 0 : 1;
}
