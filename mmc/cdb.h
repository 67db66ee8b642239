/*
 * cdb.h - MMC command encoders and reply parsers.
 *
 * Each command the drive layer sends is encoded here, and its reply parsed
 * here, in exactly one place (docs/mmc-reference.md section 2).  Encoders
 * fill a struct mmc_cmd (CDB, direction, buffer, length, timeout) and never
 * fail, except where they also build a parameter list.  Parsers take the
 * bytes a drive returned, which are untrusted: every field is checked
 * against both the reply's own length field and the number of bytes
 * actually received; a reply too short for the fields that matter gives
 * -EPROTO with a message, optional fields a short reply lacks read as 0.
 */
#ifndef MMC_CDB_H
#define MMC_CDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmc_const.h"
#include "transport.h"

/* Timeouts in ms (mmc-reference 1.5, libburn's values). */
#define MMC_TIMEOUT_DEFAULT 30000u
#define MMC_TIMEOUT_WRITE   200000u
#define MMC_TIMEOUT_IMMED   200000u
#define MMC_TIMEOUT_CLOSE   3600000u
#define MMC_TIMEOUT_SYNC    3600000u
#define MMC_TIMEOUT_BLANK   18000000u
#define MMC_TIMEOUT_LOAD    300000u

#define MMC_BLOCK_SIZE 2048u

/* Standard allocation lengths. */
#define MMC_SENSE_ALLOC	      18u
#define MMC_INQUIRY_ALLOC     36u
#define MMC_DISC_INFO_ALLOC   34u
#define MMC_TRACK_INFO_ALLOC  48u
#define MMC_READ_CAPACITY_LEN 8u

/* Name of an opcode for messages: "WRITE(10)", "READ TOC/PMA/ATIP". */
const char *mmc_op_name(uint8_t opcode);

/* MSF <-> LBA (mmc-reference 2.4): M >= 90 encodes negative lead-in
 * addresses. */
int32_t mmc_msf_to_lba(uint8_t m, uint8_t s, uint8_t f);
void mmc_lba_to_msf(int32_t lba, uint8_t *m, uint8_t *s, uint8_t *f);

/* --- commands without data ---------------------------------------- */

void mmc_cdb_test_unit_ready(struct mmc_cmd *c);
/* @prevent: lock the tray (1) or allow removal (0). */
void mmc_cdb_prevent_allow(struct mmc_cmd *c, bool prevent);

enum mmc_start_stop {
	MMC_STOP = 0x00,
	MMC_START = 0x01,
	MMC_EJECT = 0x02,
	MMC_LOAD = 0x03,
};
void mmc_cdb_start_stop(struct mmc_cmd *c, enum mmc_start_stop what,
			bool immed);
/* Speeds in kB/s (1000 bytes/s); 0xFFFF = maximum. */
void mmc_cdb_set_cd_speed(struct mmc_cmd *c, uint16_t read_kbps,
			  uint16_t write_kbps);
void mmc_cdb_synchronize_cache(struct mmc_cmd *c, bool immed);
void mmc_cdb_close_track_session(struct mmc_cmd *c, enum mmc_close_function fn,
				 uint16_t track, bool immed);
void mmc_cdb_blank(struct mmc_cmd *c, enum mmc_blank_type type,
		   uint32_t address, bool immed);

/* --- data transfers ------------------------------------------------ */

/* WRITE(10)/READ(10) of @blocks 2048-byte blocks; @lba may be negative
 * (SAO pre-gap at -150). */
void mmc_cdb_write10(struct mmc_cmd *c, int32_t lba, uint16_t blocks,
		     const void *buf);
void mmc_cdb_read10(struct mmc_cmd *c, int32_t lba, uint16_t blocks, void *buf);

/* --- inquiries ----------------------------------------------------- */

/* @desc asks for descriptor-format sense (DESC bit). */
void mmc_cdb_request_sense(struct mmc_cmd *c, bool desc, void *buf,
			   uint8_t alloc);

void mmc_cdb_inquiry(struct mmc_cmd *c, void *buf, uint8_t alloc);
struct mmc_inquiry {
	uint8_t device_type; /* byte 0 b0-4; 5 = CD/DVD */
	uint8_t version;
	char vendor[9], product[17], revision[5]; /* trailing blanks cut */
};
int mmc_parse_inquiry(const uint8_t *buf, size_t len, struct mmc_inquiry *out);

/* GET CONFIGURATION: @rt 0 all features, 1 current only, 2 exactly
 * @start. */
void mmc_cdb_get_configuration(struct mmc_cmd *c, uint8_t rt, uint16_t start,
			       void *buf, uint16_t alloc);
struct mmc_config {
	uint16_t current_profile;
	size_t data_len; /* bytes the drive has (header length + 4) */
	size_t len;	 /* bytes of them present in the reply */
};
int mmc_parse_configuration(const uint8_t *buf, size_t len,
			    struct mmc_config *out);
struct mmc_feature_desc {
	uint16_t code;
	uint8_t version;
	bool persistent, current;
	const uint8_t *data; /* the additional bytes, after the 4-byte head */
	uint8_t data_len;
};
/*
 * Walk the feature descriptors of a GET CONFIGURATION reply.  Start with
 * *@pos = 0; each call stores the next descriptor and returns 1, returns 0
 * at the end of the reply, -EPROTO if a descriptor overruns the reply.
 */
int mmc_config_next_feature(const uint8_t *buf, size_t len, size_t *pos,
			    struct mmc_feature_desc *out);
/* The profiles of feature 0000h's list; returns their number (up to
 * @max stored) or -EPROTO. */
int mmc_feature_profiles(const struct mmc_feature_desc *f, uint16_t *profiles,
			 bool *current, size_t max);

void mmc_cdb_read_disc_info(struct mmc_cmd *c, void *buf, uint16_t alloc);
struct mmc_disc_info {
	bool erasable;
	uint8_t last_session_state; /* enum mmc_session_state */
	uint8_t disc_status;	    /* enum mmc_disc_status */
	uint8_t first_track;
	uint16_t nsessions; /* counts an empty or incomplete last session */
	uint16_t first_track_last_session, last_track_last_session;
	bool did_valid, dbc_valid, uru, dac_valid, dbit;
	uint8_t bg_format_status;
	uint8_t disc_type;
	uint32_t disc_id;
	/* bytes 16-23: CD 00,M,S,F; others LBA; FF when finalized */
	bool lead_valid;
	uint32_t last_lead_in_raw, last_leadout_raw;
};
int mmc_parse_disc_info(const uint8_t *buf, size_t len,
			struct mmc_disc_info *out);

enum mmc_rti_address {
	MMC_RTI_LBA = 0,
	MMC_RTI_TRACK = 1,
	MMC_RTI_SESSION = 2,
};
#define MMC_RTI_INVISIBLE_TRACK 0xFF
void mmc_cdb_read_track_info(struct mmc_cmd *c, enum mmc_rti_address type,
			     uint32_t address, void *buf, uint16_t alloc);
struct mmc_track_info {
	uint16_t track, session;
	bool damage, copy;
	uint8_t track_mode;
	bool reserved, blank, packet, fixed_packet;
	uint8_t data_mode;
	bool lra_valid, nwa_valid;
	uint32_t start, nwa, free_blocks, packet_size, size, last_recorded;
};
int mmc_parse_track_info(const uint8_t *buf, size_t len,
			 struct mmc_track_info *out);

void mmc_cdb_read_capacity(struct mmc_cmd *c, void *buf);
struct mmc_capacity {
	uint32_t last_lba, block_len;
};
int mmc_parse_capacity(const uint8_t *buf, size_t len,
		       struct mmc_capacity *out);

/* --- READ TOC/PMA/ATIP ---------------------------------------------- */

enum mmc_toc_format {
	MMC_TOC_FORMATTED = 0,
	MMC_TOC_SESSION_INFO = 1,
	MMC_TOC_RAW = 2,
	MMC_TOC_ATIP = 4,
};
#define MMC_TOC_LEADOUT 0xAA
void mmc_cdb_read_toc(struct mmc_cmd *c, enum mmc_toc_format fmt, bool msf,
		      uint8_t track_session, void *buf, uint16_t alloc);

#define MMC_TOC_MAX_ENTRIES 100 /* 99 tracks + the lead-out */
struct mmc_toc_entry {
	uint8_t adr, control, track;
	int32_t start; /* LBA (converted when the reply was MSF) */
};
struct mmc_toc {
	uint8_t first, last;
	unsigned n;
	struct mmc_toc_entry e[MMC_TOC_MAX_ENTRIES];
};
/* Format 0; @msf says how the CDB asked for the addresses. */
int mmc_parse_toc(const uint8_t *buf, size_t len, bool msf,
		  struct mmc_toc *out);

struct mmc_toc_session_info {
	uint8_t first_session, last_session; /* complete sessions */
	uint8_t adr, control;
	uint8_t first_track_last; /* first track of the last complete one */
	int32_t start;		  /* its start */
};
int mmc_parse_toc_session_info(const uint8_t *buf, size_t len, bool msf,
			       struct mmc_toc_session_info *out);

/* Raw TOC (format 2): up to 99 sessions of A0/A1/A2/B0/C0 and 99 tracks. */
#define MMC_RAW_TOC_MAX	      600
#define MMC_RAW_TOC_ALLOC     (4 + 11 * MMC_RAW_TOC_MAX)
#define MMC_POINT_FIRST_TRACK 0xA0
#define MMC_POINT_LAST_TRACK  0xA1
#define MMC_POINT_LEADOUT     0xA2
#define MMC_POINT_NEXT_AREA   0xB0
#define MMC_POINT_LEAD_IN     0xC0
struct mmc_raw_toc_entry {
	uint8_t session, adr, control, tno, point;
	uint8_t min, sec, frame, zero, pmin, psec, pframe;
};
struct mmc_raw_toc {
	uint8_t first_session, last_session;
	unsigned n;
	struct mmc_raw_toc_entry e[MMC_RAW_TOC_MAX];
};
int mmc_parse_toc_raw(const uint8_t *buf, size_t len, struct mmc_raw_toc *out);
/* The PMIN:PSEC:PFRAME of an entry as an LBA. */
int32_t mmc_raw_toc_paddr(const struct mmc_raw_toc_entry *e);

struct mmc_atip {
	bool rw;	      /* byte 6 b6: CD-RW */
	bool a1_valid;	      /* byte 6 b2 */
	int32_t lead_in;      /* start of the first lead-in (negative) */
	int32_t last_leadout; /* last possible lead-out start */
};
int mmc_parse_atip(const uint8_t *buf, size_t len, struct mmc_atip *out);

/* --- MODE SENSE(10) / MODE SELECT(10) -------------------------------- */

#define MMC_MODE_HEADER_LEN  8u
#define MMC_PAGE05_LEN	     0x32u /* page length byte: 50, i.e. 52 bytes */
#define MMC_MODE_SENSE_ALLOC 256u

enum mmc_page_control {
	MMC_PC_CURRENT = 0,
	MMC_PC_CHANGEABLE = 1,
	MMC_PC_DEFAULT = 2,
	MMC_PC_SAVED = 3,
};
void mmc_cdb_mode_sense10(struct mmc_cmd *c, uint8_t page,
			  enum mmc_page_control pc, void *buf, uint16_t alloc);

/* Page 05h, every field (mmc-reference 2.6). */
struct mmc_write_params {
	uint8_t page_len; /* as the drive reported it; 0 = MMC_PAGE05_LEN */
	bool ps;
	bool bufe, ls_valid, test_write;
	uint8_t write_type;    /* enum mmc_write_type */
	uint8_t multi_session; /* enum mmc_multi_session */
	bool fixed_packet, copy;
	uint8_t track_mode;	 /* CONTROL nibble: 4 data */
	uint8_t data_block_type; /* 8 = mode 1, 2048 bytes */
	uint8_t link_size;
	uint8_t host_app_code;
	uint8_t session_format; /* 0x00 CD-ROM, 0x10 CD-I, 0x20 XA */
	uint32_t packet_size;
	uint16_t audio_pause;
	uint8_t mcn[16];
	uint8_t isrc[16];
	uint8_t subheader[4];
};
int mmc_parse_write_params(const uint8_t *buf, size_t len,
			   struct mmc_write_params *out);
/*
 * MODE SELECT(10) of page 05h: builds the 8-byte header and the page into
 * @buf (@size bytes; needs 8 + 2 + page length).  -EINVAL if too small.
 */
int mmc_cdb_mode_select_write_params(struct mmc_cmd *c,
				     const struct mmc_write_params *p,
				     uint8_t *buf, size_t size);

/* Page 2Ah, capabilities and mechanical status. */
#define MMC_CAPS_MAX_SPEEDS 32
struct mmc_caps {
	bool read_cdr, read_cdrw, read_dvdrom, read_dvdr, read_dvdram;
	bool write_cdr, write_cdrw, test_write, write_dvdr, write_dvdram;
	bool buf, multisession;
	bool lock, locked, eject;
	uint8_t loader_type;
	uint16_t max_read_kbps, buffer_kib, cur_read_kbps;
	uint16_t max_write_kbps, cur_write_kbps;
	unsigned nwrite_speeds;
	uint16_t write_speeds[MMC_CAPS_MAX_SPEEDS];
};
int mmc_parse_caps(const uint8_t *buf, size_t len, struct mmc_caps *out);

#endif
