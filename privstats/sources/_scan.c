/* The tokeniser's one pass over a block of log lines (see privstats/sources/tokens.py, whose
 * module docstring lists the proofs a line must pass to be kept; this file implements them).
 *
 * scan() runs without the GIL: ingest parses in a thread while the main thread anonymises.
 * Everything that does not leave the call (hash tables, the kept rows before they are counted,
 * the batch of values to encode) lives in a workspace reused from call to call, so that a
 * block does not page-fault fresh arrays in (ingest sets glibc's mmap threshold to 1 MiB:
 * every large allocation is new pages); what leaves is copied out at exact size at the end.
 *
 * Input bytes never appear in an error message: log content must not be echoed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { PLAIN = 0, QUOTED = 1, TIME = 2, LITERAL = 3 };                       /* tokens.Kind */
enum { SKIP = 0, CODE = 1, TS = 2, STATUS = 3, SIZE = 4, RESPONSE = 5 };     /* tokens.Action */

#define SPACE 32
#define QUOTE 34
#define NEWLINE 10
#define CR 13
#define BATCH 64          /* rows encoded together */
#define FIRST_SLOTS 1024  /* a table's size at the start of a block */
#define MAX_RESPONSE_US (INT64_C(1) << 50)

static const uint64_t K1 = UINT64_C(0x9E3779B97F4A7C15);
static const uint64_t K2 = UINT64_C(0xBF58476D1CE4E5B9);
static const uint64_t ONES = UINT64_C(0x0101010101010101);
static const uint64_t HIGHS = UINT64_C(0x8080808080808080);
static const uint64_t QUOTES = UINT64_C(0x2222222222222222);
static const uint64_t NEWLINES = UINT64_C(0x0A0A0A0A0A0A0A0A);
static const uint64_t BANGS = UINT64_C(0x2121212121212121);

/* -- words ------------------------------------------------------------------------------- */

/* The 8 bytes at p as a little-endian word, whatever the machine's byte order (the scans
 * below find the lowest flagged byte: the first in memory). memcpy: p need not be aligned. */
static inline uint64_t load8(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* The n (< 8) bytes at p as a little-endian word, zero above them. */
static inline uint64_t load_few(const uint8_t *p, int64_t n) {
    uint64_t w = 0;
    for (int64_t k = 0; k < n; k++)
        w |= (uint64_t)p[k] << (8 * k);
    return w;
}

/* The n (1 to 8) bytes at buf[p] as a word, zero above them: one load where the buffer has
 * the 8 bytes, else byte by byte (never past the end). */
static inline uint64_t load_upto(const uint8_t *buf, int64_t size, int64_t p, int64_t n) {
    if (p + 8 <= size)
        return n == 8 ? load8(buf + p) : load8(buf + p) & (~UINT64_C(0) >> (8 * (8 - n)));
    return load_few(buf + p, n);
}

/* Which byte of a word holds the lowest of the bits 0x80 set in found (found != 0). */
static inline int64_t first_byte(uint64_t found) { return __builtin_ctzll(found) >> 3; }

static inline uint64_t mix(uint64_t h, uint64_t w) { return (h ^ w) * K1; }

static inline uint64_t final(uint64_t h, int64_t length) {
    h ^= (uint64_t)length * K2;
    h ^= h >> 31;
    return h * K2;
}

/* A 64-bit hash of buf[start:end] (not a proof of equality: codes compare bytes). */
static inline uint64_t hash(const uint8_t *buf, int64_t size, int64_t start, int64_t end) {
    uint64_t h = 0;
    int64_t p = start;
    for (; p + 8 <= end; p += 8)
        h = mix(h, load8(buf + p));
    if (p < end)
        h = mix(h, load_upto(buf, size, p, end - p));
    return final(h, end - start);
}

/* From p, where the first quote or newline is; whether a byte before it is not ASCII or is
 * NUL (*high: the caller checks such text byte by byte); the hash of the bytes before it, as
 * hash() (*digest). Eight bytes at a time. */
static inline int64_t quoted(const uint8_t *buf, int64_t size, int64_t p, int *high,
                             uint64_t *digest) {
    uint64_t h = 0, seen = 0, zeros = 0;
    const int64_t start = p;
    for (; p + 8 <= size; p += 8) {
        const uint64_t w = load8(buf + p);
        const uint64_t x = w ^ QUOTES, y = w ^ NEWLINES;
        const uint64_t found = ((x - ONES) & ~x & HIGHS) | ((y - ONES) & ~y & HIGHS);
        /* A NUL byte: the lowest flag is exact, so a flag below the end counts. */
        const uint64_t zero = (w - ONES) & ~w & HIGHS;
        if (found) {
            const int64_t k = first_byte(found);
            if (k) {
                const uint64_t tail = w & ((UINT64_C(1) << (8 * k)) - 1);
                h = mix(h, tail);
                seen |= tail;
                zeros |= zero && first_byte(zero) < k;
            }
            *high = (seen & HIGHS) != 0 || zeros != 0;
            *digest = final(h, p + k - start);
            return p + k;
        }
        h = mix(h, w);
        seen |= w;
        zeros |= zero;
    }
    int64_t q = p;
    while (q < size && buf[q] != QUOTE && buf[q] != NEWLINE) {
        zeros |= buf[q] == 0;
        q++;
    }
    if (q > p) {
        const uint64_t tail = load_few(buf + p, q - p);
        h = mix(h, tail);
        seen |= tail;
    }
    *high = (seen & HIGHS) != 0 || zeros != 0;
    *digest = final(h, q - start);
    return q;
}

/* From p, where the first byte that is not printable ASCII, or is a quote, is. */
static inline int64_t plain(const uint8_t *buf, int64_t size, int64_t p) {
    for (; p + 8 <= size; p += 8) {
        const uint64_t w = load8(buf + p);
        const uint64_t x = w ^ QUOTES;
        /* Bytes under '!' (white space, controls), DEL and above, quotes; the lowest flag of
         * each test is exact (borrows and carries only run upwards from a flagged byte). */
        const uint64_t found = ((w - BANGS) & ~w & HIGHS) | ((w | (w + ONES)) & HIGHS) |
                               ((x - ONES) & ~x & HIGHS);
        if (found)
            return p + first_byte(found);
    }
    while (p < size && buf[p] >= 33 && buf[p] <= 126 && buf[p] != QUOTE)
        p++;
    return p;
}

/* Whether a[ia:ia + length] equals b[ib:ib + length], eight bytes at a time.
 *
 * Every word is compared, without an early exit (a mismatch is rare: the hashes matched); the
 * last word is masked to the value's bytes, and read whole only where both buffers have the
 * bytes past the value. */
static inline int same(const uint8_t *a, int64_t size_a, int64_t ia, const uint8_t *b,
                       int64_t size_b, int64_t ib, int64_t length) {
    if (length == 0)
        return 1;
    const int64_t last = (length - 1) & ~INT64_C(7); /* where the last (maybe partial) word starts */
    const int64_t rest = length - last;
    uint64_t diff;
    if (ia + last + 8 > size_a || ib + last + 8 > size_b) {
        diff = load_few(a + ia + last, rest) ^ load_few(b + ib + last, rest);
    } else {
        const uint64_t keep = ~UINT64_C(0) >> (8 * (8 - rest));
        diff = (load8(a + ia + last) ^ load8(b + ib + last)) & keep;
    }
    for (int64_t k = 0; k < last; k += 8)
        diff |= load8(a + ia + k) ^ load8(b + ib + k);
    return diff == 0;
}

/* -- values ------------------------------------------------------------------------------ */

/* Whether buf[start:end] is valid UTF-8 as Python's strict decoder has it, and holds no NUL
 * (a line holding one is quarantined, by the line parser). */
static int utf8(const uint8_t *buf, int64_t start, int64_t end) {
    int64_t p = start;
    while (p < end) {
        const uint8_t b = buf[p];
        if (b < 0x80) {
            if (b == 0)
                return 0;
            p++;
            continue;
        }
        int need;
        uint8_t low, high;
        if (b >= 0xC2 && b <= 0xDF) {
            need = 1, low = 0x80, high = 0xBF;
        } else if (b == 0xE0) {
            need = 2, low = 0xA0, high = 0xBF;
        } else if (b == 0xED) {
            need = 2, low = 0x80, high = 0x9F;
        } else if (b >= 0xE1 && b <= 0xEF) {
            need = 2, low = 0x80, high = 0xBF;
        } else if (b == 0xF0) {
            need = 3, low = 0x90, high = 0xBF;
        } else if (b >= 0xF1 && b <= 0xF3) {
            need = 3, low = 0x80, high = 0xBF;
        } else if (b == 0xF4) {
            need = 3, low = 0x80, high = 0x8F;
        } else {
            return 0;
        }
        if (p + need >= end)
            return 0;
        if (buf[p + 1] < low || buf[p + 1] > high)
            return 0;
        for (int k = 2; k <= need; k++)
            if (buf[p + k] < 0x80 || buf[p + k] > 0xBF)
                return 0;
        p += need + 1;
    }
    return 1;
}

/* The number written by n ASCII digits at p, or -1 if one is not a digit. */
static inline int64_t digits(const uint8_t *p, int64_t n) {
    int64_t value = 0;
    for (int64_t k = 0; k < n; k++) {
        const int64_t d = (int64_t)p[k] - 48;
        if (d < 0 || d > 9)
            return -1;
        value = value * 10 + d;
    }
    return value;
}

static const char MONTHS[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
static const int64_t MONTH_DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* Python's // for a positive divisor. */
static inline int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* 'dd/Mon/yyyy:HH:MM:SS +hhmm' at p (27 bytes) as microseconds since the epoch in *micros;
 * whether it is a real date and time, written canonically. */
static int read_time(const uint8_t *p, int64_t *micros) {
    if (p[2] != '/' || p[6] != '/' || p[11] != ':' || p[14] != ':' || p[17] != ':' || p[20] != SPACE)
        return 0;
    const int64_t day = digits(p, 2), year = digits(p + 7, 4), hour = digits(p + 12, 2);
    const int64_t minute = digits(p + 15, 2), second = digits(p + 18, 2);
    const int64_t zone_h = digits(p + 22, 2), zone_m = digits(p + 24, 2);
    const uint8_t sign = p[21];
    if (day < 0 || year < 0 || hour < 0 || minute < 0 || second < 0 || zone_h < 0 || zone_m < 0)
        return 0;
    if (sign != '+' && sign != '-')
        return 0;
    int64_t month = -1;
    for (int m = 0; m < 12; m++)
        if (p[3] == (uint8_t)MONTHS[3 * m] && p[4] == (uint8_t)MONTHS[3 * m + 1] &&
            p[5] == (uint8_t)MONTHS[3 * m + 2])
            month = m + 1;
    if (month < 0 || hour > 23 || minute > 59 || second > 59 || zone_h > 23 || zone_m > 59)
        return 0;
    const int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const int64_t last = MONTH_DAYS[month - 1] + (month == 2 && leap ? 1 : 0);
    if (day < 1 || day > last)
        return 0;
    /* Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
    const int64_t y = month <= 2 ? year - 1 : year;
    const int64_t era = floor_div(y, 400);
    const int64_t yoe = y - era * 400;
    const int64_t mp = month > 2 ? month - 3 : month + 9;
    const int64_t doy = (153 * mp + 2) / 5 + day - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const int64_t days = era * 146097 + doe - 719468;
    int64_t zone = zone_h * 3600 + zone_m * 60;
    if (sign == '+')
        zone = -zone;
    *micros = (days * 86400 + hour * 3600 + minute * 60 + second + zone) * 1000000;
    return 1;
}

static inline int64_t power_of_ten(int64_t power) {
    int64_t value = 1;
    for (int64_t k = 0; k < power; k++)
        value *= 10;
    return value;
}

/* A response time at buf[start:end] written in units of 10**-power s: '-' is unknown (*known
 * = 0), digits with at most power decimals are exact; anything else (0) is left to the slow
 * path. power is 0 for microseconds, 3 for milliseconds, 6 for seconds. */
static int read_response(const uint8_t *buf, int64_t start, int64_t end, int64_t power,
                         int64_t *micros, uint8_t *known) {
    if (end - start == 1 && buf[start] == '-') {
        *micros = 0, *known = 0;
        return 1;
    }
    int64_t whole = 0, p = start;
    while (p < end && buf[p] >= '0' && buf[p] <= '9' && p - start < 15) {
        whole = whole * 10 + (buf[p] - '0');
        p++;
    }
    if (p == start)
        return 0;
    const int64_t unit = power_of_ten(power);
    /* Checked before multiplying: 15 digits of seconds would overflow 64 bits. */
    if (whole > (MAX_RESPONSE_US - 1) / unit)
        return 0;
    int64_t value = whole * unit;
    if (p < end) {
        const int64_t decimals = end - p - 1;
        if (buf[p] != '.' || decimals < 1 || decimals > power)
            return 0;
        const int64_t fraction = digits(buf + p + 1, decimals);
        if (fraction < 0)
            return 0;
        value += fraction * power_of_ten(power - decimals);
    }
    if (value >= MAX_RESPONSE_US)
        return 0;
    *micros = value, *known = 1;
    return 1;
}

/* memcpy, for a count that may be 0 (with a NULL pointer, which memcpy does not allow). */
static inline void copy(void *to, const void *from, int64_t bytes) {
    if (bytes > 0)
        memcpy(to, from, (size_t)bytes);
}

/* -- the workspace ----------------------------------------------------------------------- */

/* A slot of a table: a value's code and where its bytes are, with the low half of its hash (the
 * high half chose the slot). Everything a lookup needs but the bytes themselves is in the slot:
 * a match costs a cache miss for the slot (asked for ahead, see encode) and one for the bytes,
 * none for an array of offsets in between. */
typedef struct {
    uint32_t tag;
    uint32_t code; /* code + 1; 0: the slot is empty */
    int32_t start, length; /* in the column's data */
} Slot;

/* One dictionary-encoded token. */
typedef struct {
    Slot *table; /* open addressing, linear probing; doubles when half full */
    int64_t slots, table_cap;
    /* The distinct values by code, in the order they first appear, as Arrow has them: their
     * bytes one after the other, and where each starts (offsets[e]) and ends (offsets[e + 1]).
     * A copy, not a span of the block: a hash match then compares with bytes that are close
     * together (and likely in cache) rather than anywhere in the block. */
    uint8_t *data;
    int32_t *offsets;
    uint64_t *entry_hash;
    int64_t distinct, data_cap, offsets_cap, hash_cap, bytes;
    int32_t *codes; /* by row */
    /* The current batch's values, by row within it. */
    int64_t batch_start[BATCH], batch_length[BATCH];
    uint64_t batch_hash[BATCH];
} Column;

typedef struct {
    int64_t row_cap, other_cap, column_cap;
    int64_t *row_line, *row_span, *other;
    int64_t *ts, *size, *response;
    int16_t *status;
    uint8_t *known;
    Column *columns;
} Workspace;

static void workspace_free(Workspace *w) {
    if (!w)
        return;
    for (int64_t j = 0; j < w->column_cap; j++) {
        Column *c = &w->columns[j];
        free(c->table), free(c->data), free(c->offsets), free(c->entry_hash), free(c->codes);
    }
    free(w->columns), free(w->row_line), free(w->row_span), free(w->other), free(w->ts);
    free(w->size), free(w->response), free(w->status), free(w->known);
    free(w);
}

/* *p holds cap items of item bytes; make it hold at least need, keeping them. 0 or -1. */
static int grow(void **p, int64_t *cap, int64_t need, size_t item) {
    if (need <= *cap)
        return 0;
    int64_t n = *cap ? 2 * *cap : 1024;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, (size_t)n * item);
    if (!q)
        return -1;
    *p = q, *cap = n;
    return 0;
}

static int resize(void **p, int64_t n, size_t item) {
    void *q = realloc(*p, (size_t)n * item);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

/* Room for at least need rows in every per-row array. 0 or -1. An array that could not grow
 * leaves row_cap as it was: every array always holds at least row_cap rows. */
static int grow_rows(Workspace *w, int64_t need) {
    if (need <= w->row_cap)
        return 0;
    int64_t n = w->row_cap ? 2 * w->row_cap : 4096;
    while (n < need)
        n *= 2;
    if (resize((void **)&w->row_line, n, 8) || resize((void **)&w->row_span, n, 16) ||
        resize((void **)&w->ts, n, 8) || resize((void **)&w->size, n, 8) ||
        resize((void **)&w->response, n, 8) || resize((void **)&w->status, n, 2) ||
        resize((void **)&w->known, n, 1))
        return -1;
    for (int64_t j = 0; j < w->column_cap; j++)
        if (resize((void **)&w->columns[j].codes, n, 4))
            return -1;
    w->row_cap = n;
    return 0;
}

/* At least n columns, each with room for row_cap codes. 0 or -1. */
static int grow_columns(Workspace *w, int64_t n) {
    if (n <= w->column_cap)
        return 0;
    Column *columns = realloc(w->columns, (size_t)n * sizeof(Column));
    if (!columns)
        return -1;
    memset(columns + w->column_cap, 0, (size_t)(n - w->column_cap) * sizeof(Column));
    w->columns = columns;
    for (; w->column_cap < n; w->column_cap++)
        if (w->row_cap && resize((void **)&columns[w->column_cap].codes, w->row_cap, 4))
            return -1;
    return 0;
}

/* A table of `slots` slots for c, empty, holding its values so far. 0 or -1. */
static int rehash(Column *c, int64_t slots) {
    if (slots > c->table_cap) {
        Slot *t = malloc((size_t)slots * sizeof(Slot)); /* rebuilt below: no realloc */
        if (!t)
            return -1;
        free(c->table);
        c->table = t, c->table_cap = slots;
    }
    c->slots = slots;
    memset(c->table, 0, (size_t)slots * sizeof(Slot));
    const uint64_t mask = (uint64_t)slots - 1;
    for (int64_t k = 0; k < c->distinct; k++) {
        const uint64_t g = c->entry_hash[k];
        uint64_t slot = (g >> 32) & mask;
        while (c->table[slot].code)
            slot = (slot + 1) & mask;
        c->table[slot] = (Slot){(uint32_t)g, (uint32_t)(k + 1), c->offsets[k],
                                c->offsets[k + 1] - c->offsets[k]};
    }
    return 0;
}

/* -- encoding ---------------------------------------------------------------------------- */

/* The code of buf[s:s + length] (hash h) among c's values; a new value gets the next code.
 * A code is found only when the bytes are equal, never by the hash alone. -1: no memory. */
static inline int64_t code_of(Column *c, const uint8_t *buf, int64_t size, int64_t s,
                              int64_t length, uint64_t h) {
    const uint64_t mask = (uint64_t)c->slots - 1;
    const uint32_t tag = (uint32_t)h;
    uint64_t slot = (h >> 32) & mask;
    for (;;) {
        const Slot *found = &c->table[slot];
        if (!found->code)
            break;
        if (found->tag == tag && found->length == length &&
            same(c->data, c->bytes, found->start, buf, size, s, length))
            return found->code - 1;
        slot = (slot + 1) & mask;
    }
    const int64_t e = c->distinct;
    if (grow((void **)&c->data, &c->data_cap, c->bytes + length, 1) ||
        grow((void **)&c->offsets, &c->offsets_cap, e + 2, sizeof(int32_t)) ||
        grow((void **)&c->entry_hash, &c->hash_cap, e + 1, sizeof(uint64_t)))
        return -1;
    c->distinct = e + 1;
    c->table[slot] = (Slot){tag, (uint32_t)(e + 1), (int32_t)c->bytes, (int32_t)length};
    copy(c->data + c->bytes, buf + s, length);
    c->bytes += length;
    c->offsets[e + 1] = (int32_t)c->bytes;
    c->entry_hash[e] = h;
    if (2 * (e + 1) > c->slots && rehash(c, 2 * c->slots))
        return -1;
    return e;
}

/* Codes of the batch's rows first to last (excluded), column by column: the batch's bytes are
 * still in cache, and a tight loop per column lets the processor overlap the tables' cache
 * misses. 0 or -1 (no memory). */
static int encode(Workspace *w, int64_t n_coded, const uint8_t *buf, int64_t size,
                  int64_t first, int64_t last) {
    for (int64_t j = 0; j < n_coded; j++) {
        Column *c = &w->columns[j];
        /* Ask for the batch's slots ahead of the lookups: their cache misses then overlap
         * instead of coming one after the other (about a tenth of the pass's time; asking for
         * the values' bytes as well gained nothing measurable). Only a hint: the lookups below
         * read the table as it is, values the batch adds included. */
        const uint64_t mask = (uint64_t)c->slots - 1;
        for (int64_t r = first; r < last; r++)
            __builtin_prefetch(&c->table[(c->batch_hash[r % BATCH] >> 32) & mask]);
        for (int64_t r = first; r < last; r++) {
            const int64_t b = r % BATCH;
            const int64_t s = c->batch_start[b], length = c->batch_length[b];
            const uint64_t h = c->batch_hash[b];
            if (r > first && h == c->batch_hash[b - 1] && length == c->batch_length[b - 1] &&
                same(buf, size, c->batch_start[b - 1], buf, size, s, length)) {
                c->codes[r] = c->codes[r - 1]; /* as the row before (a login of '-', say) */
                continue;
            }
            const int64_t e = code_of(c, buf, size, s, length, h);
            if (e < 0)
                return -1;
            c->codes[r] = (int32_t)e;
        }
    }
    return 0;
}

/* -- the pass ---------------------------------------------------------------------------- */

typedef struct {
    int64_t kind, action, arg;
    const uint8_t *literal;
    int64_t literal_length;
} Op;

typedef struct {
    int64_t lines, rows, others;
} Counts;

/* Read every line of buf: keep those proven to read as the tokens say, hand over the others
 * as spans. Runs without the GIL. 0, or -1 when memory ran out. */
static int run(Workspace *w, const uint8_t *buf, int64_t size, const Op *ops, int64_t n_tokens,
               int64_t n_coded, int64_t max_line, Counts *counts) {
    if (grow_columns(w, n_coded) || grow_rows(w, 1))
        return -1;
    for (int64_t j = 0; j < n_coded; j++) {
        Column *c = &w->columns[j];
        c->distinct = 0, c->bytes = 0;
        if (rehash(c, FIRST_SLOTS) || grow((void **)&c->offsets, &c->offsets_cap, 1, 4))
            return -1; /* tables start small and grow as values come */
        c->offsets[0] = 0;
    }
    /* Bytes after the last newline are not a line yet. Every line read below ends with a
     * newline before `limit`, and every scan of a line stops at its newline: the reads at a
     * line's position stay inside the buffer (the word-at-a-time ones check `size`). */
    int64_t limit = size;
    while (limit > 0 && buf[limit - 1] != NEWLINE)
        limit--;
    int64_t p = 0, line = 0, rows = 0, others = 0;
    int64_t last_time = -1, last_micros = 0; /* the last time read, and where it was written */
    for (; p < limit; line++) {
        const int64_t start = p;
        if (rows == w->row_cap && grow_rows(w, rows + 1))
            return -1;
        int ok = 1;
        for (int64_t t = 0; t < n_tokens && ok; t++) {
            const Op *op = &ops[t];
            if (t > 0) {
                if (buf[p] != SPACE) {
                    ok = 0;
                    break;
                }
                p++;
            }
            int64_t s, q;
            uint64_t h = 0;
            if (op->kind == PLAIN) { /* printable ASCII but the quote, at least one byte */
                q = plain(buf, size, p);
                if (q == p) {
                    ok = 0;
                    break;
                }
                s = p;
                p = q;
                if (op->action == CODE)
                    h = hash(buf, size, s, q);
            } else if (op->kind == QUOTED) { /* no quote inside, ASCII or valid UTF-8, no NUL */
                if (buf[p] != QUOTE) {
                    ok = 0;
                    break;
                }
                s = p + 1;
                int high;
                q = quoted(buf, size, s, &high, &h);
                if (buf[q] != QUOTE || (high && !utf8(buf, s, q))) {
                    ok = 0;
                    break;
                }
                p = q + 1;
            } else if (op->kind == TIME) { /* [dd/Mon/yyyy:HH:MM:SS +hhmm] */
                if (p + 28 > size || buf[p] != '[' || buf[p + 27] != ']') {
                    ok = 0;
                    break;
                }
                int64_t micros;
                if (last_time >= 0 && same(buf, size, last_time, buf, size, p, 28)) {
                    micros = last_micros; /* logs are in time order: often the line before's */
                } else {
                    if (!read_time(buf + p + 1, &micros)) {
                        ok = 0;
                        break;
                    }
                    last_time = p, last_micros = micros;
                }
                if (op->action == TS)
                    w->ts[rows] = micros;
                p += 28;
                continue;
            } else { /* a literal, byte for byte (printable: it cannot run past the newline) */
                if (p + op->literal_length > size ||
                    memcmp(buf + p, op->literal, (size_t)op->literal_length) != 0) {
                    ok = 0;
                    break;
                }
                p += op->literal_length;
                continue;
            }
            const int64_t length = q - s;
            switch (op->action) {
            case CODE: {
                Column *c = &w->columns[op->arg];
                const int64_t b = rows % BATCH;
                c->batch_start[b] = s, c->batch_length[b] = length, c->batch_hash[b] = h;
                break;
            }
            case STATUS: {
                const int64_t value = length == 3 ? digits(buf + s, 3) : -1;
                if (value < 100 || value > 599)
                    ok = 0;
                else
                    w->status[rows] = (int16_t)value;
                break;
            }
            case SIZE:
                if (length == 1 && buf[s] == '-') {
                    w->size[rows] = 0;
                } else {
                    const int64_t value = length > 0 && length <= 18 ? digits(buf + s, length) : -1;
                    if (value < 0)
                        ok = 0;
                    else
                        w->size[rows] = value;
                }
                break;
            case RESPONSE:
                if (!read_response(buf, s, q, op->arg, &w->response[rows], &w->known[rows]))
                    ok = 0;
                break;
            default:
                break;
            }
        }
        const int64_t end = p;
        if (ok) {
            while (buf[p] == CR)
                p++;
            ok = buf[p] == NEWLINE && p - start <= max_line;
        }
        if (!ok) {
            while (buf[p] != NEWLINE)
                p++;
            if (grow((void **)&w->other, &w->other_cap, 3 * (others + 1), 8))
                return -1;
            w->other[3 * others] = line;
            w->other[3 * others + 1] = start;
            w->other[3 * others + 2] = p;
            others++;
            p++;
            continue;
        }
        p++;
        w->row_line[rows] = line;
        w->row_span[2 * rows] = start;
        w->row_span[2 * rows + 1] = end;
        rows++;
        if (rows % BATCH == 0 && encode(w, n_coded, buf, size, rows - BATCH, rows))
            return -1;
    }
    if (encode(w, n_coded, buf, size, rows - rows % BATCH, rows))
        return -1;
    counts->lines = line, counts->rows = rows, counts->others = others;
    return 0;
}

/* -- Python ------------------------------------------------------------------------------ */

/* One workspace is kept between calls; a call takes it (or makes its own when another thread
 * holds it) and gives it back, with the GIL held. */
static Workspace *spare = NULL;

static Workspace *take_workspace(void) {
    Workspace *w = spare;
    spare = NULL;
    return w ? w : calloc(1, sizeof(Workspace));
}

static void give_back(Workspace *w) {
    if (spare == NULL)
        spare = w;
    else
        workspace_free(w);
}

/* The ops of a program, checked: every index the pass will use is in range. NULL with
 * ValueError (or MemoryError) set otherwise. */
static Op *checked_ops(const Py_buffer *program, const Py_buffer *spans, const Py_buffer *literals,
                       int64_t n_coded, int64_t *n_tokens) {
    if (program->itemsize != 8 || program->len % 24 != 0)
        return PyErr_Format(PyExc_ValueError, "program must be int64 (tokens, 3)"), NULL;
    const int64_t n = program->len / 24;
    if (spans->itemsize != 8 || spans->len != n * 16)
        return PyErr_Format(PyExc_ValueError, "literal_spans must be int64 (tokens, 2)"), NULL;
    if (literals->itemsize != 1)
        return PyErr_Format(PyExc_ValueError, "literals must be bytes"), NULL;
    if (n_coded < 0 || n_coded > n)
        return PyErr_Format(PyExc_ValueError, "n_coded must be from 0 to the tokens"), NULL;
    Op *ops = PyMem_Calloc((size_t)(n ? n : 1), sizeof(Op));
    char *coded = PyMem_Calloc((size_t)(n_coded ? n_coded : 1), 1);
    if (!ops || !coded) {
        PyMem_Free(ops), PyMem_Free(coded);
        return (Op *)PyErr_NoMemory();
    }
    const char *bad = NULL;
    for (int64_t t = 0; t < n && !bad; t++) {
        int64_t row[3], span[2];
        memcpy(row, (const char *)program->buf + 24 * t, 24);
        memcpy(span, (const char *)spans->buf + 16 * t, 16);
        Op *op = &ops[t];
        op->kind = row[0], op->action = row[1], op->arg = row[2];
        if (op->kind < PLAIN || op->kind > LITERAL) {
            bad = "a token's kind is unknown";
        } else if (op->kind == LITERAL) {
            if (op->action != SKIP || span[0] < 0 || span[1] < 0 ||
                span[1] > literals->len - span[0]) {
                bad = "a literal token's span is out of range";
                break;
            }
            op->literal = (const uint8_t *)literals->buf + span[0];
            op->literal_length = span[1];
            for (int64_t k = 0; k < span[1]; k++)
                if (op->literal[k] <= SPACE || op->literal[k] >= 127 || op->literal[k] == QUOTE)
                    bad = "a literal token must be printable ASCII but the quote";
        } else if (op->kind == TIME) {
            if (op->action != SKIP && op->action != TS)
                bad = "a time token's action is unknown";
        } else if (op->action == CODE) {
            if (op->arg < 0 || op->arg >= n_coded || coded[op->arg])
                bad = "coded tokens must be numbered 0, 1, ... once each";
            else
                coded[op->arg] = 1;
        } else if (op->action == RESPONSE) {
            if (op->arg < 0 || op->arg > 18)
                bad = "a response time's power of ten must be from 0 to 18";
        } else if (op->action != SKIP && op->action != STATUS && op->action != SIZE) {
            bad = "a token's action is unknown";
        }
    }
    for (int64_t j = 0; j < n_coded && !bad; j++)
        if (!coded[j])
            bad = "coded tokens must be numbered 0, 1, ... once each";
    PyMem_Free(coded);
    if (bad) {
        PyMem_Free(ops);
        return PyErr_Format(PyExc_ValueError, "%s", bad), NULL;
    }
    *n_tokens = n;
    return ops;
}

static PyObject *new_bytes(int64_t n) { return PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)n); }

static char *at(PyObject *array) { return PyByteArray_AS_STRING(array); }

PyDoc_STRVAR(scan_doc,
"scan(block, program, literal_spans, literals, n_coded, max_line)\n"
"--\n\n"
"Read every line of block as the program says, without the GIL (see tokens.scan).\n\n"
"Returns (lines, rows, others, row_line, row_span, other_span, codes, ts, status, size,\n"
"response_us, response_known, values): the arrays as bytearrays (int64, int64 (rows, 2),\n"
"int64 (others, 3), int32 (n_coded, rows), int64, int16, int64, int64, bool) and, per coded\n"
"token, (count, int32 Arrow offsets, data) of its distinct values in order of appearance.");

static PyObject *scan(PyObject *self, PyObject *args) {
    Py_buffer block, program, spans, literals;
    Py_ssize_t n_coded;
    long long max_line;
    if (!PyArg_ParseTuple(args, "y*y*y*y*nL:scan", &block, &program, &spans, &literals, &n_coded,
                          &max_line))
        return NULL;
    PyObject *result = NULL, *out[9] = {NULL}, *values = NULL;
    Workspace *w = NULL;
    int64_t n_tokens = 0;
    Op *ops = checked_ops(&program, &spans, &literals, n_coded, &n_tokens);
    if (!ops)
        goto done;
    /* Codes and Arrow offsets are int32. */
    if (block.len > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "a block must be under 2 GiB");
        goto done;
    }
    w = take_workspace();
    if (!w) {
        PyErr_NoMemory();
        goto done;
    }
    const uint8_t *buf = block.buf;
    const int64_t size = block.len;
    Counts counts = {0, 0, 0};
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = run(w, buf, size, ops, n_tokens, n_coded, max_line, &counts);
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    /* Copied out at their exact size; an action no token has leaves its column at zero. */
    const int64_t rows = counts.rows, others = counts.others;
    int has[RESPONSE + 1] = {0};
    for (int64_t t = 0; t < n_tokens; t++)
        has[ops[t].action] = 1;
    const int64_t widths[9] = {8, 16, 24, 4 * n_coded, 8, 2, 8, 8, 1};
    for (int k = 0; k < 9; k++)
        if (!(out[k] = new_bytes((k == 2 ? others : rows) * widths[k])))
            goto done;
    if (!(values = PyList_New(n_coded)))
        goto done;
    for (int64_t j = 0; j < n_coded; j++) {
        const Column *c = &w->columns[j];
        PyObject *offsets = new_bytes(4 * (c->distinct + 1)), *data = new_bytes(c->bytes);
        PyObject *value = offsets && data ? Py_BuildValue("(LNN)", (long long)c->distinct,
                                                          offsets, data) : NULL;
        if (!value) {
            Py_XDECREF(offsets), Py_XDECREF(data);
            goto done;
        }
        PyList_SET_ITEM(values, j, value);
    }
    Py_BEGIN_ALLOW_THREADS
    copy(at(out[0]), w->row_line, 8 * rows);
    copy(at(out[1]), w->row_span, 16 * rows);
    copy(at(out[2]), w->other, 24 * others);
    for (int64_t j = 0; j < n_coded; j++)
        copy(at(out[3]) + 4 * rows * j, w->columns[j].codes, 4 * rows);
    if (has[TS])
        copy(at(out[4]), w->ts, 8 * rows);
    else
        memset(at(out[4]), 0, (size_t)(8 * rows));
    if (has[STATUS])
        copy(at(out[5]), w->status, 2 * rows);
    else
        memset(at(out[5]), 0, (size_t)(2 * rows));
    if (has[SIZE])
        copy(at(out[6]), w->size, 8 * rows);
    else
        memset(at(out[6]), 0, (size_t)(8 * rows));
    if (has[RESPONSE]) {
        copy(at(out[7]), w->response, 8 * rows);
        copy(at(out[8]), w->known, rows);
    } else {
        memset(at(out[7]), 0, (size_t)(8 * rows));
        memset(at(out[8]), 0, (size_t)rows);
    }
    for (int64_t j = 0; j < n_coded; j++) {
        const Column *c = &w->columns[j];
        PyObject *value = PyList_GET_ITEM(values, j);
        copy(at(PyTuple_GET_ITEM(value, 1)), c->offsets, 4 * (c->distinct + 1));
        copy(at(PyTuple_GET_ITEM(value, 2)), c->data, c->bytes);
    }
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(LLLNNNNNNNNNN)", (long long)counts.lines, (long long)rows,
                           (long long)others, out[0], out[1], out[2], out[3], out[4], out[5],
                           out[6], out[7], out[8], values);
    for (int k = 0; k < 9; k++)
        out[k] = NULL; /* stolen by "N", even on failure */
    values = NULL;
done:
    for (int k = 0; k < 9; k++)
        Py_XDECREF(out[k]);
    Py_XDECREF(values);
    if (w)
        give_back(w);
    PyMem_Free(ops);
    PyBuffer_Release(&block), PyBuffer_Release(&program), PyBuffer_Release(&spans);
    PyBuffer_Release(&literals);
    return result;
}

/* Private entry points for the tests, which prove the word-at-a-time scans and comparison
 * equal byte loops (near the end of a buffer too). */

static int in_range(int64_t lo, int64_t x, int64_t hi) {
    if (lo <= x && x <= hi)
        return 1;
    PyErr_Format(PyExc_ValueError, "a position is out of the buffer");
    return 0;
}

static PyObject *test_plain(PyObject *self, PyObject *args) {
    Py_buffer b;
    long long p;
    if (!PyArg_ParseTuple(args, "y*L:_plain", &b, &p))
        return NULL;
    PyObject *r = in_range(0, p, b.len) ? PyLong_FromLongLong(plain(b.buf, b.len, p)) : NULL;
    PyBuffer_Release(&b);
    return r;
}

static PyObject *test_quoted(PyObject *self, PyObject *args) {
    Py_buffer b;
    long long p;
    if (!PyArg_ParseTuple(args, "y*L:_quoted", &b, &p))
        return NULL;
    PyObject *r = NULL;
    if (in_range(0, p, b.len)) {
        int high;
        uint64_t digest;
        const int64_t q = quoted(b.buf, b.len, p, &high, &digest);
        r = Py_BuildValue("(LNK)", (long long)q, PyBool_FromLong(high),
                          (unsigned long long)digest);
    }
    PyBuffer_Release(&b);
    return r;
}

static PyObject *test_hash(PyObject *self, PyObject *args) {
    Py_buffer b;
    long long start, end;
    if (!PyArg_ParseTuple(args, "y*LL:_hash", &b, &start, &end))
        return NULL;
    PyObject *r = in_range(0, start, end) && in_range(start, end, b.len)
                      ? PyLong_FromUnsignedLongLong(hash(b.buf, b.len, start, end))
                      : NULL;
    PyBuffer_Release(&b);
    return r;
}

static PyObject *test_same(PyObject *self, PyObject *args) {
    Py_buffer a, b;
    long long ia, ib, length;
    if (!PyArg_ParseTuple(args, "y*Ly*LL:_same", &a, &ia, &b, &ib, &length))
        return NULL;
    PyObject *r = NULL;
    if (in_range(0, length, a.len) && in_range(0, ia, a.len - length) &&
        in_range(0, ib, b.len - length))
        r = PyBool_FromLong(same(a.buf, a.len, ia, b.buf, b.len, ib, length));
    PyBuffer_Release(&a), PyBuffer_Release(&b);
    return r;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {"_plain", test_plain, METH_VARARGS, "Where the plain token at p ends (tests only)."},
    {"_quoted", test_quoted, METH_VARARGS,
     "(end, any byte not ASCII, hash) of the quoted text at p (tests only)."},
    {"_hash", test_hash, METH_VARARGS, "The hash of buf[start:end] (tests only)."},
    {"_same", test_same, METH_VARARGS,
     "Whether a[ia:ia + length] equals b[ib:ib + length] (tests only)."},
    {NULL, NULL, 0, NULL},
};

static void module_free(void *module) {
    workspace_free(spare);
    spare = NULL;
}

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "The tokeniser's compiled pass (see privstats.sources.tokens).",
    -1, methods, NULL, NULL, NULL, module_free,
};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
