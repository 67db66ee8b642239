/* fuzz_mmc_replies.c - every MMC reply parser and the sense parser on
 * hostile bytes.  The first byte selects the parser, the rest is the
 * reply. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/error.h"
#include "mmc/cdb.h"
#include "mmc/sense.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mmc_raw_toc raw;
	const uint8_t *buf;
	size_t len, pos = 0;
	char msg[256];

	if (size < 1)
		return 0;
	buf = data + 1;
	len = size - 1;
	switch (data[0] % 13) {
	case 0: {
		struct mmc_inquiry q;
		mmc_parse_inquiry(buf, len, &q);
		break;
	}
	case 1: {
		struct mmc_config c;
		struct mmc_feature_desc f;
		uint16_t prof[8];
		bool cur[8];
		int n = 0;

		mmc_parse_configuration(buf, len, &c);
		while (mmc_config_next_feature(buf, len, &pos, &f) == 1 &&
		       ++n < 10000)
			if (f.code == 0)
				mmc_feature_profiles(&f, prof, cur, 8);
		break;
	}
	case 2: {
		struct mmc_disc_info di;
		mmc_parse_disc_info(buf, len, &di);
		break;
	}
	case 3: {
		struct mmc_track_info ti;
		mmc_parse_track_info(buf, len, &ti);
		break;
	}
	case 4: {
		struct mmc_toc toc;
		mmc_parse_toc(buf, len, len & 1, &toc);
		break;
	}
	case 5: {
		struct mmc_toc_session_info si;
		mmc_parse_toc_session_info(buf, len, len & 1, &si);
		break;
	}
	case 6:
		if (mmc_parse_toc_raw(buf, len, &raw) == 0)
			for (unsigned i = 0; i < raw.n; i++)
				mmc_raw_toc_paddr(&raw.e[i]);
		break;
	case 7: {
		struct mmc_atip a;
		mmc_parse_atip(buf, len, &a);
		break;
	}
	case 8: {
		struct mmc_write_params p;
		uint8_t out[300];
		struct mmc_cmd c;

		if (mmc_parse_write_params(buf, len, &p) == 0)
			mmc_cdb_mode_select_write_params(&c, &p, out,
							 sizeof(out));
		break;
	}
	case 9: {
		struct mmc_caps caps;
		mmc_parse_caps(buf, len, &caps);
		break;
	}
	case 10: {
		struct mmc_capacity cap;
		mmc_parse_capacity(buf, len, &cap);
		break;
	}
	default: {
		struct mmc_sense s;

		mmc_sense_parse(buf, len, &s);
		mmc_sense_format("FUZZ", &s, msg, sizeof(msg));
		mmc_sense_errno(&s);
		break;
	}
	}
	cds_error_clear();
	return 0;
}
