/* The anonymiser's hot loops: shape keys of URLs, visitor fingerprints and pseudonyms,
 * dictionary columns, referer hosts.
 *
 * Plain CPython C API and the buffer protocol, and OpenSSL's libcrypto for the HMACs (the
 * library Python's own hmac and hashlib use): the Python wrappers (shapes.py, visitors.py,
 * columns.py, referers.py) allocate every output with numpy, at its exact or largest size,
 * and pass it as a writable buffer; these functions fill it and return counts. Every loop
 * over rows or bytes runs without the GIL (ingest parses in a thread beside this one).
 *
 * Inputs are checked before they are indexed: buffer lengths and item sizes on entry, every
 * index read from an input (take, codes, offsets, slots) as it is read. A bad input raises
 * ValueError with a fixed message: the texts are log content and are never echoed.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/params.h>
#else
#include <openssl/hmac.h>
#endif

/* ------------------------------------------------------------------------------------------ */
/* Buffers */

/* Whether ``b`` holds whole, aligned items of ``size`` bytes; their count in ``*count``. A
 * misaligned int64 buffer would be undefined behaviour to read, not only slow. */
static int
items(const Py_buffer *b, Py_ssize_t size, const char *what, Py_ssize_t *count)
{
    if (b->itemsize != size || b->len % size != 0 ||
        (b->len && (uintptr_t)b->buf % (uintptr_t)size != 0)) {
        PyErr_Format(PyExc_ValueError, "%s: expected an aligned array of %zd-byte items", what,
                     size);
        return -1;
    }
    *count = b->len / size;
    return 0;
}

/* Codes arrive as int32 (a block's) or int64; reading them as they are saves a copy per row. */
typedef struct {
    const void *at;
    Py_ssize_t count;
    bool wide;
} Indices;

static int
indices(const Py_buffer *b, const char *what, Indices *out)
{
    Py_ssize_t size = b->itemsize == 8 ? 8 : 4;
    if (items(b, size, what, &out->count) < 0) {
        return -1;
    }
    out->at = b->buf;
    out->wide = size == 8;
    return 0;
}

static inline int64_t
index_at(Indices ix, Py_ssize_t i)
{
    return ix.wide ? ((const int64_t *)ix.at)[i] : ((const int32_t *)ix.at)[i];
}

/* Failures found without the GIL, raised once it is back. */
enum { OK = 0, BAD_INDEX, BAD_OFFSETS, OUT_TOO_SMALL, TABLE_FULL, NO_MEMORY, CRYPTO_FAILED };

static PyObject *
fail(int status)
{
    switch (status) {
    case BAD_INDEX:
        PyErr_SetString(PyExc_ValueError, "an index is out of bounds");
        break;
    case BAD_OFFSETS:
        PyErr_SetString(PyExc_ValueError, "string offsets are out of order or out of bounds");
        break;
    case OUT_TOO_SMALL:
        PyErr_SetString(PyExc_ValueError, "the output buffer is too small");
        break;
    case TABLE_FULL:
        PyErr_SetString(PyExc_ValueError, "the table has no free slot");
        break;
    default:
        PyErr_NoMemory();
    }
    return NULL;
}

/* The bytes of text ``i``, checked against the data they index. */
static inline bool
text_span(const int64_t *offsets, int64_t data_len, Py_ssize_t i, int64_t *start, int64_t *stop)
{
    *start = offsets[i];
    *stop = offsets[i + 1];
    return 0 <= *start && *start <= *stop && *stop <= data_len;
}

static void
release(Py_buffer *buffers, int n)
{
    for (int i = 0; i < n; i++) {
        PyBuffer_Release(&buffers[i]);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Shape keys (shapes.py) */

/* Mark bytes, as in ``urls._SHAPED``: e-mail, UUID, number, hex token. */
enum { EMAIL = 1, UUID = 2, NUMBER = 3, HEX = 4 };
enum { SLASH = '/', SPACE = ' ', QMARK = '?', HASH = '#', DASH = '-', AT = '@', PERCENT = '%' };

/* Byte classes, looked up once per byte. */
enum {
    DELIMITER = 1,
    DIGIT = 2,
    HEXDIGIT = 4,
    AT_SIGN = 8,
    PERCENT_SIGN = 16,
    UNSURE = 32,
    MARK = 64,
    WHITE_LEAD = 128,
};
#define SPECIAL (DELIMITER | AT_SIGN | PERCENT_SIGN | UNSURE | WHITE_LEAD)

static uint8_t classes[256];

static void
fill_classes(void)
{
    for (const char *c = "/ ?#"; *c; c++) {
        classes[(uint8_t)*c] |= DELIMITER;
    }
    for (int c = '0'; c <= '9'; c++) {
        classes[c] |= DIGIT | HEXDIGIT;
    }
    for (int c = 0; c < 6; c++) {
        classes['a' + c] |= HEXDIGIT;
        classes['A' + c] |= HEXDIGIT;
    }
    classes[AT] |= AT_SIGN;
    classes[PERCENT] |= PERCENT_SIGN;
    /* Bytes from 0x80 are UTF-8 (Arrow's strings are valid UTF-8): a character of several
     * bytes is never a delimiter, digit or hex digit, so its bytes are ordinary ones, unless
     * it is white space (``parsed.WHITE``), which the regexes read apart from other text. */
    for (int c = 0; c < 32; c++) {
        classes[c] |= UNSURE;
    }
    classes[127] |= UNSURE;
    classes[0xC2] |= WHITE_LEAD;
    classes[0xE1] |= WHITE_LEAD;
    classes[0xE2] |= WHITE_LEAD;
    classes[0xE3] |= WHITE_LEAD;
    classes[EMAIL] |= MARK;
    classes[UUID] |= MARK;
    classes[NUMBER] |= MARK;
    classes[HEX] |= MARK;
}

/* Whether the character opening at ``buf[at]`` (a WHITE_LEAD byte) is white space beyond
 * ASCII: U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
static bool
white_at(const uint8_t *buf, int64_t at, int64_t end)
{
    uint8_t b0 = buf[at];
    uint8_t b1 = at + 1 < end ? buf[at + 1] : 0;
    if (b0 == 0xC2) {
        return b1 == 0x85 || b1 == 0xA0;
    }
    uint8_t b2 = at + 2 < end ? buf[at + 2] : 0;
    switch (b0) {
    case 0xE1:
        return b1 == 0x9A && b2 == 0x80;
    case 0xE2:
        return (b1 == 0x80 && ((b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 ||
                               b2 == 0xAF)) ||
               (b1 == 0x81 && b2 == 0x9F);
    case 0xE3:
        return b1 == 0x80 && b2 == 0x80;
    default:
        return false;
    }
}

static inline bool
is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* Whether ``buf[start:end]`` is ``[0-9a-fA-F]{8}-?...{4}-?...{4}-?...{4}-?...{12}``.
 *
 * Each ``-?`` is decided by the next byte alone: a dash is no hex digit, so taking it when it
 * is there is the only way on. */
static bool
is_uuid(const uint8_t *buf, int64_t start, int64_t end)
{
    int64_t at = start;
    for (int group = 0; group < 5; group++) {
        if (group && at < end && buf[at] == DASH) {
            at++;
        }
        int64_t count = group == 0 ? 8 : group == 4 ? 12 : 4;
        if (at + count > end) {
            return false;
        }
        for (int64_t i = at; i < at + count; i++) {
            if (!is_hex(buf[i])) {
                return false;
            }
        }
        at += count;
    }
    return at == end;
}

/* The patterns a whole token ``out[start:stop]`` fits, a bit per mark (0: none). */
static int
fits(const uint8_t *out, int64_t start, int64_t stop, int flags)
{
    int64_t size = stop - start;
    int fit = 0;
    bool email = (flags & AT_SIGN) != 0;
    if (!email && (flags & PERCENT_SIGN)) {
        for (int64_t i = start; i < stop - 2; i++) {
            if (out[i] == PERCENT && out[i + 1] == '4' && out[i + 2] == '0') {
                email = true;
                break;
            }
        }
    }
    if (email) {
        fit |= 1 << EMAIL;
    }
    if (size >= 32 && size <= 36 && is_uuid(out, start, stop)) {
        fit |= 1 << UUID;
    }
    if ((flags & HEXDIGIT) && size >= 16) {
        fit |= 1 << HEX;
    }
    if ((flags & DIGIT) && size != 32) {
        fit |= 1 << NUMBER;
    }
    return fit;
}

/* A token that fits some pattern: its bytes in the output, patterns fitted (bit per mark),
 * token number, and the mark it gets. */
typedef struct {
    int64_t start, stop, number;
    int fits, mark;
} Token;

/* Note the token ``out[start:stop]`` if it fits any pattern; the count of tokens noted. */
static inline int64_t
record(Token *found, int64_t tokens, const uint8_t *out, int64_t start, int64_t stop, int flags,
       int64_t number)
{
    int fit = fits(out, start, stop, flags);
    if (!fit) {
        return tokens;
    }
    found[tokens] = (Token){start, stop, number, fit, 0};
    return tokens + 1;
}

/* The four ``replace_all('/' + pattern + end, '/' + mark + end)`` passes over the ``count``
 * tokens of ``out[..end]`` that fit some pattern; the new end.
 *
 * Each pattern's span is the longest run of its class after a slash, and matches only when
 * the next byte may end a segment; no such byte is in a class, so a span matches exactly
 * when it is a whole token (the bytes between two of ``/ ?#``) that fits the pattern. A
 * match replaces its token by the mark (which fits no later pattern) and takes the byte
 * ending it, so within one pass the token right after a matched one, opened by that byte,
 * cannot match. */
static int64_t
shape_tokens(uint8_t *out, int64_t end, Token *found, int64_t count)
{
    static const int order[4] = {EMAIL, UUID, HEX, NUMBER};
    for (int p = 0; p < 4; p++) {
        int kind = order[p];
        int64_t last = -2; /* token number of this pass's last match */
        for (int64_t j = 0; j < count; j++) {
            if (found[j].mark == 0 && (found[j].fits & (1 << kind)) &&
                found[j].number != last + 1) {
                found[j].mark = kind;
                last = found[j].number;
            }
        }
    }
    /* Marks only shorten the text: writing never overtakes reading. */
    int64_t w = found[0].start;
    int64_t r = found[0].start;
    for (int64_t j = 0; j < count; j++) {
        memmove(out + w, out + r, (size_t)(found[j].start - r));
        w += found[j].start - r;
        r = found[j].start;
        if (found[j].mark) {
            out[w++] = (uint8_t)found[j].mark;
            r = found[j].stop;
        }
    }
    memmove(out + w, out + r, (size_t)(end - r));
    return w + (end - r);
}

/* taken_bytes(offsets, take) -> total: the bytes of the texts ``take`` picks, the size of
 * their keys at most. */
static PyObject *
taken_bytes(PyObject *self, PyObject *args)
{
    Py_buffer b[2];
    if (!PyArg_ParseTuple(args, "y*y*", &b[0], &b[1])) {
        return NULL;
    }
    Py_ssize_t n_offsets, count;
    if (items(&b[0], 8, "offsets", &n_offsets) < 0 || items(&b[1], 8, "take", &count) < 0) {
        release(b, 2);
        return NULL;
    }
    if (n_offsets < 1) {
        release(b, 2);
        return fail(BAD_OFFSETS);
    }
    const int64_t *offsets = b[0].buf;
    const int64_t *take = b[1].buf;
    Py_ssize_t n = n_offsets - 1;
    int status = OK;
    int64_t total = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < count; t++) {
        int64_t i = take[t];
        if (i < 0 || i >= n) {
            status = BAD_INDEX;
            break;
        }
        int64_t size = offsets[i + 1] - offsets[i];
        if (size < 0 || offsets[i] < 0) {
            status = BAD_OFFSETS;
            break;
        }
        total += size;
    }
    Py_END_ALLOW_THREADS
    release(b, 2);
    if (status) {
        return fail(status);
    }
    return PyLong_FromLongLong(total);
}

/* shape_keys(offsets, data, valid, take, requests, key_offsets, keys, vouched)
 *   -> (key bytes, any mark)
 *
 * Shape keys of the texts ``take`` picks, written to ``key_offsets`` (one more than take),
 * ``keys`` (``taken_bytes`` long at least) and ``vouched`` (one per take).
 *
 * One pass per text copies it to the output, cutting the query as ``urls._QUERY_IN_REQUEST``
 * (requests: method, spaces, a target opening with a slash, cut from its first ? or # to the
 * next space) or ``urls._QUERY`` (targets: from the first ? or # on) does, and notes the
 * tokens that fit a shape pattern; only texts holding such tokens are rewritten. A text not
 * vouched for (null, a control byte, or white space beyond ASCII) gets an empty key here and
 * must be keyed by the regex path. ``any mark`` tells whether a picked non-null text holds a
 * byte 0x01-0x04 anywhere. */
static PyObject *
shape_keys(PyObject *self, PyObject *args)
{
    Py_buffer b[7];
    int requests;
    if (!PyArg_ParseTuple(args, "y*y*y*y*pw*w*w*", &b[0], &b[1], &b[2], &b[3], &requests, &b[4],
                          &b[5], &b[6])) {
        return NULL;
    }
    Py_ssize_t n_offsets, data_len, n_valid, count, n_key_offsets, out_len, n_vouched;
    if (items(&b[0], 8, "offsets", &n_offsets) < 0 || items(&b[1], 1, "data", &data_len) < 0 ||
        items(&b[2], 1, "valid", &n_valid) < 0 || items(&b[3], 8, "take", &count) < 0 ||
        items(&b[4], 8, "key offsets", &n_key_offsets) < 0 ||
        items(&b[5], 1, "keys", &out_len) < 0 || items(&b[6], 1, "vouched", &n_vouched) < 0) {
        release(b, 7);
        return NULL;
    }
    if (n_offsets != n_valid + 1 || n_key_offsets != count + 1 || n_vouched != count) {
        release(b, 7);
        PyErr_SetString(PyExc_ValueError, "shape_keys: array lengths do not agree");
        return NULL;
    }
    const int64_t *offsets = b[0].buf;
    const uint8_t *data = b[1].buf;
    const uint8_t *valid = b[2].buf;
    const int64_t *take = b[3].buf;
    int64_t *out_offsets = b[4].buf;
    uint8_t *out = b[5].buf;
    uint8_t *vouched = b[6].buf;
    int status = OK;
    bool marked = false;
    int64_t w = 0;
    Token *found = NULL;
    int64_t found_rows = 0;

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < count; t++) {
        int64_t i = take[t];
        out_offsets[t] = w;
        vouched[t] = 0;
        if (i < 0 || i >= n_valid) {
            status = BAD_INDEX;
            break;
        }
        if (!valid[i]) {
            continue;
        }
        int64_t k, stop;
        if (!text_span(offsets, data_len, i, &k, &stop)) {
            status = BAD_OFFSETS;
            break;
        }
        /* A key is never longer than its text. */
        if (stop - k > out_len - w) {
            status = OUT_TOO_SMALL;
            break;
        }
        /* A noted token takes a slash and a byte of the text, so a text of n bytes notes at
         * most n / 2 + 1 of them. */
        if (stop - k + 1 > found_rows) {
            int64_t rows = 2 * (stop - k + 1);
            Token *grown = realloc(found, (size_t)rows * sizeof(Token));
            if (!grown) {
                status = NO_MEMORY;
                break;
            }
            found = grown;
            found_rows = rows;
        }
        int64_t w0 = w;
        bool ok = true;
        /* Where the query cut stands: 0 in the method, 1 in the spaces after it, 2 in a target
         * path that opened with a slash (a ? or # there starts the cut), 3 past all that. */
        int phase = requests ? 0 : (k < stop && data[k] == SLASH) ? 2 : 3;
        int64_t tokens = 0;   /* tokens fitting some pattern */
        int64_t number = 0;   /* tokens seen */
        int64_t opening = w;  /* first byte of the current token */
        int flags = DIGIT | HEXDIGIT; /* classes all its bytes share, and @ or % if it holds one */
        while (k < stop) {
            uint8_t c = data[k];
            int kind = classes[c];
            if ((kind & SPECIAL) == 0) {
                flags &= kind | AT_SIGN | PERCENT_SIGN;
                if (phase == 1) {
                    phase = 3;
                }
                out[w++] = c;
                k++;
                continue;
            }
            if (kind & UNSURE) {
                ok = false;
                if (kind & MARK) {
                    marked = true;
                }
                k++;
                continue;
            }
            if (kind & WHITE_LEAD) {
                if (white_at(data, k, stop)) {
                    ok = false;
                }
                flags &= AT_SIGN | PERCENT_SIGN;
                if (phase == 1) {
                    phase = 3;
                }
                out[w++] = c;
                k++;
                continue;
            }
            if ((kind & DELIMITER) == 0) { /* @ or % */
                flags = (flags & (kind | AT_SIGN | PERCENT_SIGN)) | kind;
                if (phase == 1) {
                    phase = 3;
                }
                out[w++] = c;
                k++;
                continue;
            }
            if (phase == 2 && (c == QMARK || c == HASH)) {
                k++;
                while (k < stop) {
                    c = data[k];
                    if (requests && c == SPACE) {
                        break;
                    }
                    if (classes[c] & UNSURE) {
                        ok = false;
                        if (classes[c] & MARK) {
                            marked = true;
                        }
                    } else if ((classes[c] & WHITE_LEAD) && white_at(data, k, stop)) {
                        ok = false;
                    }
                    k++;
                }
                phase = 3;
                continue;
            }
            /* A token ends here: opened by a slash and ended by this byte, it may be shaped. */
            if (opening > w0 && out[opening - 1] == SLASH && w > opening &&
                (requests || c != SPACE)) {
                tokens = record(found, tokens, out, opening, w, flags, number);
            }
            number++;
            if (requests) {
                if (c == SPACE) {
                    if (phase == 0) {
                        phase = w > w0 ? 1 : 3;
                    } else if (phase == 2) {
                        phase = 3;
                    }
                } else if (phase == 1) {
                    phase = c == SLASH ? 2 : 3;
                }
            }
            out[w++] = c;
            k++;
            opening = w;
            flags = DIGIT | HEXDIGIT;
        }
        if (!ok) {
            w = w0;
            continue;
        }
        vouched[t] = 1;
        /* The last token ends the text: only a target's may be shaped there. */
        if (!requests && opening > w0 && out[opening - 1] == SLASH && w > opening) {
            tokens = record(found, tokens, out, opening, w, flags, number);
        }
        if (tokens) {
            w = shape_tokens(out, w, found, tokens);
        }
    }
    if (status == OK) {
        out_offsets[count] = w;
    }
    free(found);
    Py_END_ALLOW_THREADS

    release(b, 7);
    if (status) {
        return fail(status);
    }
    return Py_BuildValue("(LO)", (long long)w, marked ? Py_True : Py_False);
}

/* ------------------------------------------------------------------------------------------ */
/* Visitor fingerprints (visitors.py) */

enum { EMPTY = 0, KNOWN = 1, NEW = 2 };
/* Multipliers of the two hash lanes (odd, with well spread bits). */
#define FIRST_LANE UINT64_C(0x9E3779B97F4A7C15)
#define SECOND_LANE UINT64_C(0xC2B2AE3D27D4EB4F)
#define MISSING UINT64_C(0x2545F4914F6CDD1D) /* a null before mixing, unlike any text */

/* SplitMix64's finaliser: every input bit reaches every output bit. */
static inline uint64_t
mix(uint64_t value)
{
    value = (value ^ (value >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    value = (value ^ (value >> 27)) * UINT64_C(0x94D049BB133111EB);
    return value ^ (value >> 31);
}

static inline uint64_t
rotate(uint64_t value, int bits)
{
    return (value << bits) | (value >> (64 - bits));
}

/* string_hashes(offsets, data, valid, seeds, out): two 64-bit hashes of each text into
 * ``out`` (row: text, column: lane), a null unlike any text.
 *
 * Each lane runs its own multiplier over the bytes from its own seed and mixes the length in
 * at the end, so texts of different lengths or bytes part in both lanes. */
static PyObject *
string_hashes(PyObject *self, PyObject *args)
{
    Py_buffer b[5];
    if (!PyArg_ParseTuple(args, "y*y*y*y*w*", &b[0], &b[1], &b[2], &b[3], &b[4])) {
        return NULL;
    }
    Py_ssize_t n_offsets, data_len, n, n_seeds, n_out;
    if (items(&b[0], 8, "offsets", &n_offsets) < 0 || items(&b[1], 1, "data", &data_len) < 0 ||
        items(&b[2], 1, "valid", &n) < 0 || items(&b[3], 8, "seeds", &n_seeds) < 0 ||
        items(&b[4], 8, "hashes", &n_out) < 0) {
        release(b, 5);
        return NULL;
    }
    if (n_offsets != n + 1 || n_seeds != 2 || n_out != 2 * n) {
        release(b, 5);
        PyErr_SetString(PyExc_ValueError, "string_hashes: array lengths do not agree");
        return NULL;
    }
    const int64_t *offsets = b[0].buf;
    const uint8_t *data = b[1].buf;
    const uint8_t *valid = b[2].buf;
    const uint64_t *seeds = b[3].buf;
    uint64_t *out = b[4].buf;
    int status = OK;

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!valid[i]) {
            out[2 * i] = mix(seeds[0] ^ MISSING);
            out[2 * i + 1] = mix(seeds[1] ^ MISSING);
            continue;
        }
        int64_t start, stop;
        if (!text_span(offsets, data_len, i, &start, &stop)) {
            status = BAD_OFFSETS;
            break;
        }
        uint64_t a = seeds[0];
        uint64_t c = seeds[1];
        for (int64_t k = start; k < stop; k++) {
            uint64_t byte = data[k];
            a = (a ^ byte) * FIRST_LANE;
            c = (c ^ byte) * SECOND_LANE;
        }
        uint64_t size = (uint64_t)(stop - start);
        out[2 * i] = mix(a ^ size);
        out[2 * i + 1] = mix(c + size);
    }
    Py_END_ALLOW_THREADS

    release(b, 5);
    if (status) {
        return fail(status);
    }
    Py_RETURN_NONE;
}

/* The table, open addressing with linear probing: per slot both halves of a fingerprint, the
 * pseudonym and the state, side by side. Slots are 32 bytes and the Python side aligns the
 * table to 64, so a probe costs one cache line: the table outgrows the caches (a million
 * slots), and the rows' triples land anywhere in it. */
typedef struct {
    uint64_t first, second;
    int64_t pseudonym;
    uint64_t state;
} Slot;

typedef struct {
    Slot *slots;
    uint64_t mask;
} Table;

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)(address))
#endif

/* Take a table buffer, (capacity, 4) uint64; its capacity must be a power of two. */
static int
table(Py_buffer *b, Table *t)
{
    Py_ssize_t words;
    if (items(b, 8, "table", &words) < 0) {
        return -1;
    }
    Py_ssize_t capacity = words / 4;
    if (words % 4 != 0 || capacity < 1 || (capacity & (capacity - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError, "the table must hold a power-of-two count of slots");
        return -1;
    }
    t->slots = b->buf;
    t->mask = (uint64_t)capacity - 1;
    return 0;
}

/* Rows whose fingerprints are worked out, and their slots fetched, before any is probed: the
 * fetches overlap instead of waiting on memory one after the other. */
enum { AHEAD = 16 };

/* look_up(period, client, agent, period_hashes, client_hashes, agent_hashes, table,
 *         values, fresh_of_row, fresh_rows, fresh_slots) -> new triples
 *
 * Each row's pseudonym where its triple's fingerprint is in the table; new triples are entered
 * (state new), once each however many rows share them.
 *
 * Fills the rows' pseudonyms (0 where new), the new triple of each row (-1: known), and per
 * new triple its first row and its slot (as many as it returns). The table must have a free
 * slot per row; when it has none, the probe gives up after a full turn rather than loop, and
 * the table holds entries that will never be settled (the caller drops it). */
static PyObject *
look_up(PyObject *self, PyObject *args)
{
    Py_buffer b[11];
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*w*w*w*w*w*", &b[0], &b[1], &b[2], &b[3], &b[4],
                          &b[5], &b[6], &b[7], &b[8], &b[9], &b[10])) {
        return NULL;
    }
    Indices period, client, agent;
    Py_ssize_t n_period_hashes, n_client_hashes, n_agent_hashes, n_values, n_of_row, n_rows,
        n_slots;
    Table tab;
    if (indices(&b[0], "period", &period) < 0 || indices(&b[1], "client", &client) < 0 ||
        indices(&b[2], "agent", &agent) < 0 ||
        items(&b[3], 8, "period hashes", &n_period_hashes) < 0 ||
        items(&b[4], 8, "client hashes", &n_client_hashes) < 0 ||
        items(&b[5], 8, "agent hashes", &n_agent_hashes) < 0 || table(&b[6], &tab) < 0 ||
        items(&b[7], 8, "values", &n_values) < 0 ||
        items(&b[8], 8, "fresh of row", &n_of_row) < 0 ||
        items(&b[9], 8, "fresh rows", &n_rows) < 0 ||
        items(&b[10], 8, "fresh slots", &n_slots) < 0) {
        release(b, 11);
        return NULL;
    }
    Py_ssize_t rows = client.count;
    if (period.count != rows || agent.count != rows || n_values != rows || n_of_row != rows ||
        n_rows != rows || n_slots != rows) {
        release(b, 11);
        PyErr_SetString(PyExc_ValueError, "look_up: array lengths do not agree");
        return NULL;
    }
    const uint64_t *period_hashes = b[3].buf;
    const uint64_t *client_hashes = b[4].buf;
    const uint64_t *agent_hashes = b[5].buf;
    int64_t *values = b[7].buf;
    int64_t *fresh_of_row = b[8].buf;
    int64_t *fresh_rows = b[9].buf;
    int64_t *fresh_slots = b[10].buf;
    Slot *slots = tab.slots;
    /* Hash arrays are (texts, 2): a code must name a whole row. */
    int64_t periods = n_period_hashes / 2, clients = n_client_hashes / 2,
            agents = n_agent_hashes / 2;
    int status = OK;
    int64_t fresh = 0;

    Py_BEGIN_ALLOW_THREADS
    uint64_t ones[AHEAD], twos[AHEAD];
    for (Py_ssize_t r0 = 0; r0 < rows && status == OK; r0 += AHEAD) {
        Py_ssize_t n = rows - r0 < AHEAD ? rows - r0 : AHEAD;
        for (Py_ssize_t j = 0; j < n; j++) {
            Py_ssize_t r = r0 + j;
            int64_t p = index_at(period, r), c = index_at(client, r), a = index_at(agent, r);
            if (p < 0 || p >= periods || c < 0 || c >= clients || a < 0 || a >= agents) {
                status = BAD_INDEX;
                break;
            }
            ones[j] = mix(period_hashes[2 * p] ^ rotate(client_hashes[2 * c], 21) ^
                          rotate(agent_hashes[2 * a], 42));
            twos[j] = mix(period_hashes[2 * p + 1] ^ rotate(client_hashes[2 * c + 1], 21) ^
                          rotate(agent_hashes[2 * a + 1], 42));
            PREFETCH(&slots[ones[j] & tab.mask]);
        }
        for (Py_ssize_t j = 0; j < n && status == OK; j++) {
            Py_ssize_t r = r0 + j;
            uint64_t one = ones[j], two = twos[j];
            uint64_t slot = one & tab.mask;
            values[r] = 0;
            fresh_of_row[r] = -1;
            for (uint64_t probes = 0;; probes++) {
                if (probes > tab.mask) {
                    status = TABLE_FULL;
                    break;
                }
                Slot *s = &slots[slot];
                if (s->state == EMPTY) {
                    *s = (Slot){one, two, fresh, NEW};
                    fresh_of_row[r] = fresh;
                    fresh_rows[fresh] = r;
                    fresh_slots[fresh] = (int64_t)slot;
                    fresh++;
                    break;
                }
                if (s->first == one && s->second == two) {
                    if (s->state == KNOWN) {
                        values[r] = s->pseudonym;
                    } else {
                        fresh_of_row[r] = s->pseudonym;
                    }
                    break;
                }
                slot = (slot + 1) & tab.mask;
            }
        }
    }
    Py_END_ALLOW_THREADS

    release(b, 11);
    if (status) {
        return fail(status);
    }
    return PyLong_FromLongLong(fresh);
}

/* settle(values, fresh_of_row, fresh, fresh_slots, table): enter the new triples' pseudonyms
 * in the table and in their rows. */
static PyObject *
settle(PyObject *self, PyObject *args)
{
    Py_buffer b[5];
    if (!PyArg_ParseTuple(args, "w*y*y*y*w*", &b[0], &b[1], &b[2], &b[3], &b[4])) {
        return NULL;
    }
    Py_ssize_t rows, n_of_row, n_fresh, n_slots;
    Table tab;
    if (items(&b[0], 8, "values", &rows) < 0 || items(&b[1], 8, "fresh of row", &n_of_row) < 0 ||
        items(&b[2], 8, "fresh", &n_fresh) < 0 || items(&b[3], 8, "fresh slots", &n_slots) < 0 ||
        table(&b[4], &tab) < 0) {
        release(b, 5);
        return NULL;
    }
    if (n_of_row != rows || n_slots != n_fresh) {
        release(b, 5);
        PyErr_SetString(PyExc_ValueError, "settle: array lengths do not agree");
        return NULL;
    }
    int64_t *values = b[0].buf;
    const int64_t *fresh_of_row = b[1].buf;
    const int64_t *fresh = b[2].buf;
    const int64_t *fresh_slots = b[3].buf;
    int status = OK;

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t j = 0; j < n_fresh; j++) {
        int64_t s = fresh_slots[j];
        if (s < 0 || (uint64_t)s > tab.mask) {
            status = BAD_INDEX;
            break;
        }
        tab.slots[s].state = KNOWN;
        tab.slots[s].pseudonym = fresh[j];
    }
    for (Py_ssize_t r = 0; r < rows && status == OK; r++) {
        int64_t f = fresh_of_row[r];
        if (f >= n_fresh) {
            status = BAD_INDEX;
        } else if (f >= 0) {
            values[r] = fresh[f];
        }
    }
    Py_END_ALLOW_THREADS

    release(b, 5);
    if (status) {
        return fail(status);
    }
    Py_RETURN_NONE;
}

/* rehash(old_table, table): move the known entries into a larger table. */
static PyObject *
rehash(PyObject *self, PyObject *args)
{
    Py_buffer b[2];
    if (!PyArg_ParseTuple(args, "y*w*", &b[0], &b[1])) {
        return NULL;
    }
    Table old, tab; /* the old table is only read */
    if (table(&b[0], &old) < 0 || table(&b[1], &tab) < 0) {
        release(b, 2);
        return NULL;
    }
    int status = OK;

    Py_BEGIN_ALLOW_THREADS
    /* As in look_up, a batch of entries' new slots is fetched before any is probed. */
    uint64_t batch[AHEAD];
    uint64_t i = 0;
    while (i <= old.mask && status == OK) {
        int n = 0;
        for (; i <= old.mask && n < AHEAD; i++) {
            if (old.slots[i].state == KNOWN) {
                PREFETCH(&tab.slots[old.slots[i].first & tab.mask]);
                batch[n++] = i;
            }
        }
        for (int j = 0; j < n; j++) {
            const Slot *entry = &old.slots[batch[j]];
            uint64_t slot = entry->first & tab.mask;
            uint64_t probes = 0;
            while (tab.slots[slot].state != EMPTY && probes <= tab.mask) {
                slot = (slot + 1) & tab.mask;
                probes++;
            }
            if (probes > tab.mask) {
                status = TABLE_FULL;
                break;
            }
            tab.slots[slot] = *entry;
        }
    }
    Py_END_ALLOW_THREADS

    release(b, 2);
    if (status) {
        return fail(status);
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------------ */
/* Visitor pseudonyms of new triples (visitors.py) */

/* The definition is ``pseudonyms.visitor_pseudonyms``: HMAC-SHA-256 under the period's
 * sub-key of ``client NUL agent``, a null client written "None" (Python's str of None) and a
 * null agent as nothing, the first 8 bytes of the digest read as a big-endian signed int64.
 * Arrow's strings are already UTF-8, the bytes Python would encode them to.
 *
 * OpenSSL's libcrypto does the hashing, as it does for Python's hmac: SHA-256 is not written
 * here. One keyed state per period, made on its first row; each message starts again from
 * it, which copies the precomputed inner and outer pads instead of hashing the key anew. */
enum { SUBKEY = 32, DIGEST = 32, PSEUDONYM = 8 };

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
typedef EVP_MAC_CTX Mac;
typedef EVP_MAC Algorithm;

static Algorithm *
hmac_fetch(void)
{
    return EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static void
hmac_release(Algorithm *algorithm)
{
    EVP_MAC_free(algorithm);
}

static Mac *
hmac_keyed(Algorithm *algorithm, const uint8_t *key)
{
    Mac *mac = EVP_MAC_CTX_new(algorithm);
    if (mac == NULL) {
        return NULL;
    }
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!EVP_MAC_init(mac, key, SUBKEY, params)) {
        EVP_MAC_CTX_free(mac);
        return NULL;
    }
    return mac;
}

static void
hmac_free(Mac *mac)
{
    EVP_MAC_CTX_free(mac);
}

static bool
hmac_digest(Mac *mac, const uint8_t *client, size_t client_len, const uint8_t *agent,
            size_t agent_len, uint8_t digest[DIGEST])
{
    static const uint8_t nul = 0;
    size_t len = 0;
    return EVP_MAC_init(mac, NULL, 0, NULL) && EVP_MAC_update(mac, client, client_len) &&
           EVP_MAC_update(mac, &nul, 1) && EVP_MAC_update(mac, agent, agent_len) &&
           EVP_MAC_final(mac, digest, &len, DIGEST) && len == DIGEST;
}
#else
/* OpenSSL 1.1.1, which has no EVP_MAC: the same steps with HMAC_CTX. */
typedef HMAC_CTX Mac;
typedef const EVP_MD Algorithm;

static Algorithm *
hmac_fetch(void)
{
    return EVP_sha256();
}

static void
hmac_release(Algorithm *algorithm)
{
}

static Mac *
hmac_keyed(Algorithm *algorithm, const uint8_t *key)
{
    Mac *mac = HMAC_CTX_new();
    if (mac == NULL) {
        return NULL;
    }
    if (!HMAC_Init_ex(mac, key, SUBKEY, algorithm, NULL)) {
        HMAC_CTX_free(mac);
        return NULL;
    }
    return mac;
}

static void
hmac_free(Mac *mac)
{
    HMAC_CTX_free(mac);
}

static bool
hmac_digest(Mac *mac, const uint8_t *client, size_t client_len, const uint8_t *agent,
            size_t agent_len, uint8_t digest[DIGEST])
{
    static const uint8_t nul = 0;
    unsigned int len = 0;
    return HMAC_Init_ex(mac, NULL, 0, NULL, NULL) && HMAC_Update(mac, client, client_len) &&
           HMAC_Update(mac, &nul, 1) && HMAC_Update(mac, agent, agent_len) &&
           HMAC_Final(mac, digest, &len) && len == DIGEST;
}
#endif

/* A column's texts as arrow_strings gives them, and each row's code into them. */
typedef struct {
    Indices codes;
    const int64_t *offsets;
    const uint8_t *data;
    const uint8_t *valid;
    Py_ssize_t count;    /* texts */
    Py_ssize_t data_len; /* bytes */
} Texts;

static int
texts(Py_buffer *b, Texts *t)
{
    Py_ssize_t n_offsets;
    if (indices(&b[0], "codes", &t->codes) < 0 || items(&b[1], 8, "offsets", &n_offsets) < 0 ||
        items(&b[2], 1, "data", &t->data_len) < 0 || items(&b[3], 1, "valid", &t->count) < 0) {
        return -1;
    }
    if (n_offsets != t->count + 1) {
        PyErr_SetString(PyExc_ValueError, "visitor_macs: offsets and validity do not agree");
        return -1;
    }
    t->offsets = b[1].buf;
    t->data = b[2].buf;
    t->valid = b[3].buf;
    return 0;
}

/* The bytes row ``r``'s text is hashed as; ``null`` stands in for a null. */
static inline int
text_of(const Texts *t, Py_ssize_t r, const char *null, const uint8_t **at, size_t *len)
{
    int64_t code = index_at(t->codes, r);
    if (code < 0 || code >= t->count) {
        return BAD_INDEX;
    }
    if (!t->valid[code]) {
        *at = (const uint8_t *)null;
        *len = strlen(null);
        return OK;
    }
    int64_t start, stop;
    if (!text_span(t->offsets, t->data_len, code, &start, &stop)) {
        return BAD_OFFSETS;
    }
    *at = t->data + start;
    *len = (size_t)(stop - start);
    return OK;
}

/* visitor_macs(rows, period, keys, client, client_offsets, client_data, client_valid,
 *              agent, agent_offsets, agent_data, agent_valid, out)
 *
 * The pseudonym of each given row's triple into ``out`` (one per row of ``rows``). ``period``,
 * ``client`` and ``agent`` are the block's codes, one per row; ``keys`` the sub-keys of the
 * period values, 32 bytes each, in code order. */
static PyObject *
visitor_macs(PyObject *self, PyObject *args)
{
    Py_buffer b[12];
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*w*", &b[0], &b[1], &b[2], &b[3], &b[4],
                          &b[5], &b[6], &b[7], &b[8], &b[9], &b[10], &b[11])) {
        return NULL;
    }
    Py_ssize_t key_bytes, n_out;
    Indices rows, period;
    Texts client, agent;
    if (indices(&b[0], "rows", &rows) < 0 || indices(&b[1], "period", &period) < 0 ||
        items(&b[2], 1, "keys", &key_bytes) < 0 || texts(&b[3], &client) < 0 ||
        texts(&b[7], &agent) < 0 || items(&b[11], 8, "pseudonyms", &n_out) < 0) {
        release(b, 12);
        return NULL;
    }
    if (key_bytes % SUBKEY != 0) {
        release(b, 12);
        PyErr_SetString(PyExc_ValueError, "visitor_macs: keys must be 32 bytes each");
        return NULL;
    }
    if (client.codes.count != period.count || agent.codes.count != period.count ||
        n_out != rows.count) {
        release(b, 12);
        PyErr_SetString(PyExc_ValueError, "visitor_macs: array lengths do not agree");
        return NULL;
    }
    Py_ssize_t n_rows = rows.count;
    const uint8_t *keys = b[2].buf;
    Py_ssize_t n_keys = key_bytes / SUBKEY;
    int64_t *out = b[11].buf;
    int status = OK;
    unsigned long error = 0;

    Py_BEGIN_ALLOW_THREADS
    /* Everything made here is freed at the end, whichever way the loop ends. */
    Algorithm *algorithm = NULL;
    Mac **macs = NULL; /* per period code, made on its first row */
    if (n_rows > 0) {
        algorithm = hmac_fetch();
        macs = calloc((size_t)n_keys + 1, sizeof *macs);
        if (algorithm == NULL) {
            status = CRYPTO_FAILED;
        } else if (macs == NULL) {
            status = NO_MEMORY;
        }
    }
    for (Py_ssize_t i = 0; i < n_rows && status == OK; i++) {
        int64_t r = index_at(rows, i);
        if (r < 0 || r >= period.count) {
            status = BAD_INDEX;
            break;
        }
        int64_t p = index_at(period, r);
        if (p < 0 || p >= n_keys) {
            status = BAD_INDEX;
            break;
        }
        const uint8_t *client_at, *agent_at;
        size_t client_len, agent_len;
        status = text_of(&client, r, "None", &client_at, &client_len);
        if (status == OK) {
            status = text_of(&agent, r, "", &agent_at, &agent_len);
        }
        if (status != OK) {
            break;
        }
        if (macs[p] == NULL && (macs[p] = hmac_keyed(algorithm, keys + SUBKEY * p)) == NULL) {
            status = CRYPTO_FAILED;
            break;
        }
        uint8_t digest[DIGEST];
        if (!hmac_digest(macs[p], client_at, client_len, agent_at, agent_len, digest)) {
            status = CRYPTO_FAILED;
            break;
        }
        uint64_t value = 0;
        for (int k = 0; k < PSEUDONYM; k++) {
            value = (value << 8) | digest[k];
        }
        memcpy(&out[i], &value, sizeof value); /* two's complement, without a signed overflow */
    }
    if (status == CRYPTO_FAILED) {
        error = ERR_peek_last_error();
    }
    if (macs != NULL) {
        for (Py_ssize_t p = 0; p < n_keys; p++) {
            hmac_free(macs[p]);
        }
        free(macs);
    }
    hmac_release(algorithm);
    Py_END_ALLOW_THREADS

    release(b, 12);
    if (status == CRYPTO_FAILED) {
        /* OpenSSL's reason is its own fixed text; the queue is emptied so that no later call
         * in this thread reads this failure as its own. */
        const char *reason = error ? ERR_reason_error_string(error) : NULL;
        ERR_clear_error();
        PyErr_Format(PyExc_RuntimeError, "OpenSSL could not compute an HMAC (%s)",
                     reason ? reason : "no reason given");
        return NULL;
    }
    if (status) {
        return fail(status);
    }
    return PyLong_FromSsize_t(n_rows);
}

/* ------------------------------------------------------------------------------------------ */
/* Dictionary columns (columns.py) */

/* first_appearance(ids, used, codes, rows, order) -> labels carried
 *
 * Each row's index into the labels rows carry (``rows``, int32, -1: null), numbered as the
 * used values first carry them; and, per index, its label id (``order``, as long as the
 * labels; as many as it returns). */
static PyObject *
first_appearance(PyObject *self, PyObject *args)
{
    Py_buffer b[5];
    if (!PyArg_ParseTuple(args, "y*y*y*w*w*", &b[0], &b[1], &b[2], &b[3], &b[4])) {
        return NULL;
    }
    Py_ssize_t n_ids, n_used, n_rows, size;
    Indices codes;
    if (items(&b[0], 8, "ids", &n_ids) < 0 || items(&b[1], 1, "used", &n_used) < 0 ||
        indices(&b[2], "codes", &codes) < 0 || items(&b[3], 4, "rows", &n_rows) < 0 ||
        items(&b[4], 8, "order", &size) < 0) {
        release(b, 5);
        return NULL;
    }
    if (n_used < n_ids || n_rows != codes.count) {
        release(b, 5);
        PyErr_SetString(PyExc_ValueError, "first_appearance: array lengths do not agree");
        return NULL;
    }
    const int64_t *ids = b[0].buf;
    const uint8_t *used = b[1].buf;
    int32_t *rows = b[3].buf;
    int64_t *order = b[4].buf;
    int status = OK;
    int64_t count = 0;
    /* remap: each label's index (-1: no used value carries it); then, reusing the values'
     * room, each value's, so that a row costs one look-up. */
    int64_t *remap = NULL;
    int32_t *of_value = NULL;

    Py_BEGIN_ALLOW_THREADS
    remap = malloc((size_t)(size ? size : 1) * sizeof(int64_t));
    of_value = malloc((size_t)(n_ids ? n_ids : 1) * sizeof(int32_t));
    if (!remap || !of_value) {
        status = NO_MEMORY;
    } else if (size > INT32_MAX) {
        status = OUT_TOO_SMALL; /* rows are int32 */
    } else {
        for (Py_ssize_t l = 0; l < size; l++) {
            remap[l] = -1;
        }
        for (Py_ssize_t i = 0; i < n_ids; i++) {
            int64_t label = ids[i];
            if (label >= size) {
                status = BAD_INDEX;
                break;
            }
            if (used[i] && label >= 0 && remap[label] < 0) {
                remap[label] = count;
                order[count++] = label;
            }
        }
        for (Py_ssize_t i = 0; i < n_ids && status == OK; i++) {
            int64_t label = ids[i];
            if (label >= size) {
                status = BAD_INDEX;
                break;
            }
            of_value[i] = label >= 0 ? (int32_t)remap[label] : -1;
        }
        for (Py_ssize_t r = 0; r < codes.count && status == OK; r++) {
            int64_t code = index_at(codes, r);
            if (code < 0 || code >= n_ids) {
                status = BAD_INDEX;
                break;
            }
            rows[r] = of_value[code];
        }
    }
    free(remap);
    free(of_value);
    Py_END_ALLOW_THREADS

    release(b, 5);
    if (status) {
        return fail(status);
    }
    return PyLong_FromLongLong(count);
}

/* ------------------------------------------------------------------------------------------ */
/* Referer hosts (referers.py) */

/* The host ``^(?i:https?)://(?:[^@/?#]*@)?([^/:?#\[\]]+)`` captures in ``data[start:stop]``,
 * as ``*begin, *end``; false if none.
 *
 * The optional user part is greedy and holds no @, so it runs to the first @ when one comes
 * before any of / ? #; if no host follows it, the regex backs off and reads the host from just
 * after '://' (where an @ is allowed). */
static bool
host_span(const uint8_t *data, int64_t start, int64_t stop, int64_t *begin, int64_t *end)
{
    int64_t p = start;
    if (stop - p < 7) {
        return false;
    }
    static const uint8_t http[4] = {'h', 't', 't', 'p'};
    for (int l = 0; l < 4; l++) {
        if ((data[p] | 32) != http[l]) {
            return false;
        }
        p++;
    }
    if ((data[p] | 32) == 's') {
        p++;
    }
    if (stop - p < 3 || data[p] != ':' || data[p + 1] != '/' || data[p + 2] != '/') {
        return false;
    }
    p += 3;
    int64_t q = p;
    while (q < stop && data[q] != '@' && data[q] != '/' && data[q] != '?' && data[q] != '#') {
        q++;
    }
    int64_t tries[2] = {q < stop && data[q] == '@' ? q + 1 : -1, p};
    for (int t = 0; t < 2; t++) {
        int64_t from = tries[t];
        if (from < 0) {
            continue;
        }
        int64_t to = from;
        while (to < stop) {
            uint8_t c = data[to];
            if (c == '/' || c == ':' || c == '?' || c == '#' || c == '[' || c == ']') {
                break;
            }
            to++;
        }
        if (to > from) {
            *begin = from;
            *end = to;
            return true;
        }
    }
    return false;
}

/* host_kernel(offsets, data, valid, host_offsets, hosts, found, vouched) -> host bytes
 *
 * Hosts of referers that are printable ASCII up to their host's end, lower-cased, written
 * to ``host_offsets`` (one more than the texts), ``hosts`` (as long as the texts' bytes at
 * least), ``found`` and ``vouched`` (one per text). */
static PyObject *
host_kernel(PyObject *self, PyObject *args)
{
    Py_buffer b[7];
    if (!PyArg_ParseTuple(args, "y*y*y*w*w*w*w*", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
                          &b[6])) {
        return NULL;
    }
    Py_ssize_t n_offsets, data_len, n, n_out_offsets, out_len, n_found, n_vouched;
    if (items(&b[0], 8, "offsets", &n_offsets) < 0 || items(&b[1], 1, "data", &data_len) < 0 ||
        items(&b[2], 1, "valid", &n) < 0 || items(&b[3], 8, "host offsets", &n_out_offsets) < 0 ||
        items(&b[4], 1, "hosts", &out_len) < 0 || items(&b[5], 1, "found", &n_found) < 0 ||
        items(&b[6], 1, "vouched", &n_vouched) < 0) {
        release(b, 7);
        return NULL;
    }
    if (n_offsets != n + 1 || n_out_offsets != n + 1 || n_found != n || n_vouched != n) {
        release(b, 7);
        PyErr_SetString(PyExc_ValueError, "host_kernel: array lengths do not agree");
        return NULL;
    }
    const int64_t *offsets = b[0].buf;
    const uint8_t *data = b[1].buf;
    const uint8_t *valid = b[2].buf;
    int64_t *out_offsets = b[3].buf;
    uint8_t *out = b[4].buf;
    uint8_t *found = b[5].buf;
    uint8_t *vouched = b[6].buf;
    int status = OK;
    int64_t w = 0;

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        out_offsets[i] = w;
        found[i] = 0;
        vouched[i] = 0;
        if (!valid[i]) {
            continue;
        }
        int64_t start, stop;
        if (!text_span(offsets, data_len, i, &start, &stop)) {
            status = BAD_OFFSETS;
            break;
        }
        /* What follows the host (the path, the query: Polish search terms) is never read;
         * the regex's (?i) matches some letters beyond ASCII ('ſ' is an 's'), and a host
         * beyond ASCII needs Unicode's lower case: those are left to it. */
        int64_t begin, end;
        bool has_host = host_span(data, start, stop, &begin, &end);
        int64_t checked = has_host ? end : stop;
        bool ok = true;
        for (int64_t k = start; k < checked; k++) {
            if (data[k] < 32 || data[k] > 126) {
                ok = false;
                break;
            }
        }
        if (!ok) {
            continue;
        }
        vouched[i] = 1;
        if (!has_host) {
            continue;
        }
        if (end - begin > out_len - w) {
            status = OUT_TOO_SMALL;
            break;
        }
        found[i] = 1;
        for (int64_t k = begin; k < end; k++) {
            uint8_t c = data[k];
            out[w++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
        }
    }
    if (status == OK) {
        out_offsets[n] = w;
    }
    Py_END_ALLOW_THREADS

    release(b, 7);
    if (status) {
        return fail(status);
    }
    return PyLong_FromLongLong(w);
}

/* ------------------------------------------------------------------------------------------ */

static PyMethodDef methods[] = {
    {"taken_bytes", taken_bytes, METH_VARARGS, "Bytes of the texts take picks."},
    {"shape_keys", shape_keys, METH_VARARGS, "Shape keys of the texts take picks."},
    {"string_hashes", string_hashes, METH_VARARGS, "Two seeded 64-bit hashes per text."},
    {"look_up", look_up, METH_VARARGS, "Find or enter each row's triple in the table."},
    {"settle", settle, METH_VARARGS, "Enter new triples' pseudonyms."},
    {"rehash", rehash, METH_VARARGS, "Move known entries into a larger table."},
    {"visitor_macs", visitor_macs, METH_VARARGS, "Keyed pseudonyms of the given rows."},
    {"first_appearance", first_appearance, METH_VARARGS, "Rows' dictionary indices."},
    {"host_kernel", host_kernel, METH_VARARGS, "Hosts of referers, ASCII up to the host."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_kernels",
    .m_doc = "The anonymiser's compiled loops.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__kernels(void)
{
    fill_classes();
    return PyModule_Create(&module);
}
