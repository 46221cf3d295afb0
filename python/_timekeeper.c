/* _timekeeper.c — the CPython extension behind `import timekeeper`: labeled points, timers, the
 * clock and the no-op probe, recorded into the same per-thread rings as the C API's records.
 *
 * libtimekeeper is linked in statically (its symbols are not exported). Other extensions reach this
 * one copy of the library through the capsule `timekeeper._timekeeper._C_API`
 * (timekeeper/include/timekeeper_capi.h), so a process has one segment however many extensions
 * record into it.
 *
 * Cost of point(label, client, command, session): one METH_FASTCALL call, an identity-cache hit for
 * the label string (no hashing), each id read inline from a small int's digits, tk_now() and the
 * library's inline point writer (lib/point-fast.h: two ring records, no call); nothing is
 * allocated. Keywords, contexts and anything unusual take the general path, out of line. Context
 * keywords are rendered into a stack buffer. `python3 -m timekeeper.calibrate` measures it
 * against noop_point(), the same call doing nothing.
 *
 * Nothing here releases the GIL: every call is a few tens of nanoseconds. All module state is
 * process-wide, like the library's (one segment per process). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timekeeper_capi.h"
#include "lib/point-fast.h"

_Static_assert(sizeof(unsigned long) == 8, "ids are parsed with PyLong_AsUnsignedLong");

PyMODINIT_FUNC PyInit__timekeeper(void);

/* Bytes of rendered context passed to the library; the TIMING line keeps 1024 of them and the ring
 * TK_CONTEXT_MAX. Longer contexts are cut (at a byte, possibly inside a UTF-8 sequence). */
#define CTX_TEXT_MAX 1024
/* A timer entered this many times without an exit is a bug in the caller, not a workload. */
#define TIMER_MAX_DEPTH 65536

static PyObject *str_label, *str_client, *str_command, *str_session; /* interned keyword names */
static PyObject *label_ids;   /* dict: label str -> int id, every label this module registered */
static PyObject *timer_ptrs;  /* dict: timer name str -> int (tk_timer_t * as an integer) */

/* ---- names ------------------------------------------------------------------------------------ */

/* Returns the UTF-8 of `o` when it is a valid timer or label name: 1..TK_NAME_MAX printable ASCII
 * characters, no ',' and, for labels, no space. Else NULL with TypeError or ValueError set. */
static const char *name_check(PyObject *o, const char *what, int allow_space)
{
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s name must be a str, not '%.100s'", what,
                     Py_TYPE(o)->tp_name);
        return NULL;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(o, &n);
    if (!s)
        return NULL;
    const char *why = NULL;
    if (n == 0)
        why = "is empty";
    else if (n > TK_NAME_MAX)
        why = "is too long";
    for (Py_ssize_t i = 0; i < n && !why; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            why = "has a character that is not printable ASCII";
        else if (c == ',')
            why = "has a ','";
        else if (c == ' ' && !allow_space)
            why = "has a space";
    }
    if (why) {
        /* a long name is shown cut, its repr whole (quotes included), with its length */
        const Py_ssize_t len = PyUnicode_GET_LENGTH(o);
        PyObject *shown = len > 60 ? PyUnicode_Substring(o, 0, 40) : Py_NewRef(o);
        if (!shown)
            return NULL;
        char more[48] = "";
        if (len > 60)
            snprintf(more, sizeof more, "... (%zd characters)", len);
        PyErr_Format(PyExc_ValueError,
                     "%s name %R%s %s (a %s name is 1 to %d printable ASCII characters, no ','%s)",
                     what, shown, more, why, what, TK_NAME_MAX, allow_space ? "" : " and no space");
        Py_DECREF(shown);
        return NULL;
    }
    return s;
}

/* ---- labels: str -> id, with an identity cache in front of the dict ---------------------------- */

/* A direct-mapped cache keyed by the str object itself: a call site passing a literal passes the
 * same object every time, so the usual lookup is one load and one compare. A slot owns a
 * reference to its key, so a cached address can't be reused by another object. */
#define LABEL_CACHE_SIZE 256
static struct label_slot {
    PyObject *key;
    tk_label_t id;
} label_cache[LABEL_CACHE_SIZE];

static inline struct label_slot *label_slot_of(PyObject *o)
{
    uintptr_t p = (uintptr_t)o;
    return &label_cache[((p >> 4) ^ (p >> 12)) & (LABEL_CACHE_SIZE - 1)];
}

/* The id of label `o`, registering it on first use. 0 is a valid result when recording is
 * disabled (its points are then dropped by the library). Returns 0 or -1 with an exception. */
static int label_get_slow(PyObject *o, tk_label_t *out)
{
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "label must be a str, not '%.100s'", Py_TYPE(o)->tp_name);
        return -1;
    }
    if (!PyUnicode_CheckExact(o)) { /* a str subclass: look up its plain text, not its __eq__ */
        PyObject *plain = PyUnicode_FromObject(o);
        if (!plain)
            return -1;
        int rc = label_get_slow(plain, out);
        Py_DECREF(plain);
        return rc;
    }
    tk_label_t id;
    PyObject *v = PyDict_GetItemWithError(label_ids, o); /* borrowed */
    if (v) {
        id = (tk_label_t)PyLong_AsUnsignedLong(v);
    } else {
        if (PyErr_Occurred())
            return -1;
        const char *name = name_check(o, "label", 0);
        if (!name)
            return -1;
        id = tk_label(name);
        if (id == 0 && tk_enabled()) {
            PyErr_Format(PyExc_RuntimeError,
                         "cannot register label %R: the segment's name table is full", o);
            return -1;
        }
        PyObject *iv = PyLong_FromUnsignedLong(id);
        if (!iv)
            return -1;
        int rc = PyDict_SetItem(label_ids, o, iv);
        Py_DECREF(iv);
        if (rc)
            return -1;
    }
    struct label_slot *s = label_slot_of(o);
    PyObject *old = s->key;
    s->key = Py_NewRef(o);
    s->id = id;
    Py_XDECREF(old);
    *out = id;
    return 0;
}

static inline int label_get(PyObject *o, tk_label_t *out)
{
    struct label_slot *s = label_slot_of(o);
    if (TK_LIKELY(s->key == o)) {
        *out = s->id;
        return 0;
    }
    return label_get_slow(o, out);
}

/* ---- correlation ids --------------------------------------------------------------------------- */

/* Turns a failed conversion (OverflowError, or the reserved value 2**64-1) into ValueError; any
 * other pending exception (MemoryError...) is kept. Returns -1. */
static int id_range_error(PyObject *o, const char *what)
{
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return -1;
        PyErr_Clear();
    }
    PyErr_Format(PyExc_ValueError, "%s id must be an int in [0, 2**64-2] or None, got %.60R",
                 what, o);
    return -1;
}

static int id_get_slow(PyObject *o, const char *what, uint64_t *out)
{
    if (PyBool_Check(o) || !PyIndex_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s id must be an int or None, not '%.100s'", what,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    PyObject *i = PyNumber_Index(o);
    if (!i)
        return -1;
    unsigned long v = PyLong_AsUnsignedLong(i);
    int rc = 0;
    if (v == (unsigned long)-1)
        rc = id_range_error(i, what);
    Py_DECREF(i);
    *out = v;
    return rc;
}

/* The value of an exact int in [0, 2**60) read from its digits, inline: a call to
 * PyLong_AsUnsignedLong costs ~4 ns per id, a third of a point() with three ids. Returns 1, or 0
 * for anything else (negative, larger, or an interpreter whose int layout this does not know),
 * which then goes through the public API. */
static inline TK_ALWAYS_INLINE int long_small_value(PyObject *o, uint64_t *out)
{
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && PyLong_SHIFT == 30
    const PyLongObject *l = (const PyLongObject *)o;
    switch (Py_SIZE(o)) {
    case 0:
        *out = 0;
        return 1;
    case 1:
        *out = l->ob_digit[0];
        return 1;
    case 2:
        *out = (uint64_t)l->ob_digit[0] | (uint64_t)l->ob_digit[1] << PyLong_SHIFT;
        return 1;
    default:
        return 0;
    }
#elif PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)o)) {
        Py_ssize_t v = PyUnstable_Long_CompactValue((PyLongObject *)o);
        if (v >= 0) {
            *out = (uint64_t)v;
            return 1;
        }
    }
    return 0;
#else
    (void)o;
    (void)out;
    return 0;
#endif
}

/* None -> TK_ID_NONE; an int in [0, 2**64-2] -> itself; anything else raises. */
static inline int id_get(PyObject *o, const char *what, uint64_t *out)
{
    if (!o || o == Py_None) {
        *out = TK_ID_NONE;
        return 0;
    }
    if (TK_LIKELY(PyLong_CheckExact(o))) {
        uint64_t fast;
        if (TK_LIKELY(long_small_value(o, &fast))) {
            *out = fast;
            return 0;
        }
        unsigned long v = PyLong_AsUnsignedLong(o);
        if (TK_UNLIKELY(v == (unsigned long)-1))
            return id_range_error(o, what);
        *out = v;
        return 0;
    }
    return id_get_slow(o, what, out);
}

/* The fast path's id: None or a small exact int, read inline; 0 for anything else (which the
 * general path then converts or refuses with the right message). */
static inline TK_ALWAYS_INLINE int id_fast(PyObject *o, uint64_t *out)
{
    if (TK_LIKELY(PyLong_CheckExact(o)))
        return long_small_value(o, out);
    *out = TK_ID_NONE;
    return o == Py_None;
}

/* ---- context: key=value pairs rendered as text ------------------------------------------------- */

typedef struct ctx_text {
    size_t len;
    char buf[CTX_TEXT_MAX];
} ctx_text;

static inline void ctx_put(ctx_text *c, const char *s, size_t n)
{
    size_t room = CTX_TEXT_MAX - c->len;
    if (n > room)
        n = room;
    memcpy(c->buf + c->len, s, n);
    c->len += n;
}

static int ctx_put_str(ctx_text *c, PyObject *s)
{
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n); /* the data itself for an ASCII str */
    if (!u)
        return -1;
    ctx_put(c, u, (size_t)n);
    return 0;
}

/* Appends str(v), with shortcuts for str, int, bool and None. Returns 0 or -1 (exception set,
 * e.g. raised by v.__str__). */
static int ctx_put_value(ctx_text *c, PyObject *v)
{
    if (PyUnicode_CheckExact(v))
        return ctx_put_str(c, v);
    if (PyLong_CheckExact(v)) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (!overflow && !(x == -1 && PyErr_Occurred())) {
            char tmp[24], *p = tmp + sizeof tmp;
            unsigned long long u = x < 0 ? 0ull - (unsigned long long)x : (unsigned long long)x;
            do {
                *--p = (char)('0' + u % 10);
                u /= 10;
            } while (u);
            if (x < 0)
                *--p = '-';
            ctx_put(c, p, (size_t)(tmp + sizeof tmp - p));
            return 0;
        }
        if (PyErr_Occurred())
            return -1;
    }
    if (v == Py_True) {
        ctx_put(c, "True", 4);
        return 0;
    }
    if (v == Py_False) {
        ctx_put(c, "False", 5);
        return 0;
    }
    if (v == Py_None) {
        ctx_put(c, "None", 4);
        return 0;
    }
    PyObject *s = PyObject_Str(v);
    if (!s)
        return -1;
    int rc = ctx_put_str(c, s);
    Py_DECREF(s);
    return rc;
}

/* ---- point(label, client=None, command=None, session=None, **context) -------------------------- */

static const char *const param_names[4] = {"label", "client", "command", "session"};

/* Which parameter keyword `kw` names, among params[first..4), or -1 for a context key. */
static inline int param_of(PyObject *kw, int first)
{
    PyObject *const interned[4] = {str_label, str_client, str_command, str_session};
    for (int i = first; i < 4; i++)
        if (kw == interned[i])
            return i;
    /* a key built at run time (**dict) is equal but not the interned object */
    Py_ssize_t n = PyUnicode_GET_LENGTH(kw);
    if (n < 5 || n > 7)
        return -1;
    for (int i = first; i < 4; i++)
        if (PyUnicode_CompareWithASCIIString(kw, param_names[i]) == 0)
            return i;
    return -1;
}

/* Binds positional args and keywords to params[first..4) (slots, NULL when not given) and renders
 * every other keyword into ctx, in the order given. Returns 0 or -1 with TypeError set. */
static int point_parse(const char *fname, int first, PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames, PyObject **slots, ctx_text *ctx)
{
    const Py_ssize_t maxpos = 4 - first;
    if (nargs > maxpos) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zd positional arguments (%zd given)",
                     fname, maxpos, nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        slots[first + i] = args[i];
    if (kwnames) {
        const Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < nkw; i++) {
            PyObject *kw = PyTuple_GET_ITEM(kwnames, i), *v = args[nargs + i];
            int p = param_of(kw, first);
            if (p >= 0) {
                if (slots[p]) {
                    PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
                                 fname, param_names[p]);
                    return -1;
                }
                slots[p] = v;
                continue;
            }
            if (ctx->len)
                ctx_put(ctx, ",", 1);
            if (ctx_put_str(ctx, kw) < 0)
                return -1;
            ctx_put(ctx, "=", 1);
            if (ctx_put_value(ctx, v) < 0)
                return -1;
        }
    }
    if (first == 0 && !slots[0]) {
        PyErr_Format(PyExc_TypeError, "%s() missing required argument 'label'", fname);
        return -1;
    }
    return 0;
}

/* Records label at tick t with the ids in slots[1..4) and the context. Returns None or NULL. */
static PyObject *point_record(tk_label_t label, uint64_t t, PyObject **slots, const ctx_text *ctx)
{
    uint64_t client, command, session;
    if (id_get(slots[1], "client", &client) || id_get(slots[2], "command", &command) ||
        id_get(slots[3], "session", &session))
        return NULL;
    /* the general path already: straight to the library's own (tk_point_at would pass it on) */
    tk__point_general(label, t, client, command, session, ctx->len ? ctx->buf : NULL, ctx->len);
    Py_RETURN_NONE;
}

/* point() with keywords, a context, an id that is not a small int or None, or a label not in the
 * identity cache: bound and converted with every check, out of line so that the fast path below
 * needs no stack frame of its own. `first` is 0 for point(label, ...), 1 for Label.point(...). */
static __attribute__((noinline)) PyObject *point_general(tk_label_t label, uint64_t t, int first,
                                                         PyObject *const *args, Py_ssize_t nargs,
                                                         PyObject *kwnames)
{
    PyObject *slots[4] = {NULL, NULL, NULL, NULL};
    ctx_text ctx;
    ctx.len = 0;
    if (point_parse("point", first, args, nargs, kwnames, slots, &ctx) ||
        (first == 0 && label_get(slots[0], &label)))
        return NULL;
    return point_record(label, t, slots, &ctx);
}

/* The fast path of point(label[, client[, command[, session]]]) and of Label.point(...): positional
 * ids that are None or small ints, unrolled; `ids` are the arguments after the label. Returns 1
 * when the point was recorded. */
static inline TK_ALWAYS_INLINE int point_fast(tk_label_t label, uint64_t t, PyObject *const *ids,
                                              Py_ssize_t n)
{
    uint64_t client = TK_ID_NONE, command = TK_ID_NONE, session = TK_ID_NONE;
    switch (n) {
    case 3:
        if (TK_UNLIKELY(!id_fast(ids[2], &session)))
            return 0;
        /* fall through */
    case 2:
        if (TK_UNLIKELY(!id_fast(ids[1], &command)))
            return 0;
        /* fall through */
    case 1:
        if (TK_UNLIKELY(!id_fast(ids[0], &client)))
            return 0;
        /* fall through */
    case 0:
        if (TK_UNLIKELY(!tk__point_fast(label, t, client, command, session)))
            tk_point_at(label, t, client, command, session, NULL, 0);
        return 1;
    default:
        return 0;
    }
}

static PyObject *py_point(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                          PyObject *kwnames)
{
    (void)self;
    const uint64_t t = tk_now(); /* the point's instant: as early as possible */
    if (TK_LIKELY(!kwnames && nargs >= 1)) {
        const struct label_slot *ls = label_slot_of(args[0]);
        if (TK_LIKELY(ls->key == args[0]) && point_fast(ls->id, t, args + 1, nargs - 1))
            Py_RETURN_NONE;
    }
    return point_general(0, t, 0, args, nargs, kwnames);
}

PyDoc_STRVAR(point_doc,
"point(label, client=None, command=None, session=None, **context)\n--\n\n"
"Records a labeled point now: the label (a str of 1 to 55 printable ASCII characters, no ','\n"
"or space), three correlation ids (ints in [0, 2**64-2], or None for unknown) and a context\n"
"rendered as 'k=v' pairs joined by ',' in the order given (values through str()).\n"
"With TK_TIMING=1 it is also written as a TIMING line. The label's id is cached.");

/* ---- Label: a registered label with a fast .point() ------------------------------------------- */

typedef struct {
    PyObject_HEAD
    tk_label_t id;
    PyObject *name;
} LabelObject;

static PyTypeObject Label_Type;

static PyObject *label_new_object(PyObject *name)
{
    tk_label_t id;
    if (label_get_slow(name, &id))
        return NULL;
    LabelObject *l = PyObject_New(LabelObject, &Label_Type);
    if (!l)
        return NULL;
    l->id = id;
    l->name = Py_NewRef(name);
    return (PyObject *)l;
}

static PyObject *Label_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)type;
    static char *kwlist[] = {"name", NULL};
    PyObject *name;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Label", kwlist, &name))
        return NULL;
    return label_new_object(name);
}

static void Label_dealloc(LabelObject *l)
{
    Py_XDECREF(l->name);
    PyObject_Free(l);
}

static PyObject *Label_repr(LabelObject *l)
{
    return PyUnicode_FromFormat("<timekeeper.Label %R id=%u>", l->name, (unsigned)l->id);
}

static PyObject *Label_point(LabelObject *l, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    const uint64_t t = tk_now();
    if (TK_LIKELY(!kwnames) && point_fast(l->id, t, args, nargs))
        Py_RETURN_NONE;
    return point_general(l->id, t, 1, args, nargs, kwnames);
}

static PyMethodDef Label_methods[] = {
    {"point", (PyCFunction)(void (*)(void))Label_point, METH_FASTCALL | METH_KEYWORDS,
     "point(client=None, command=None, session=None, **context)\n--\n\n"
     "Records this label now; same arguments as timekeeper.point() without the label."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Label_members[] = {
    {"name", T_OBJECT_EX, offsetof(LabelObject, name), READONLY, "the label's name"},
    {"id", T_UINT, offsetof(LabelObject, id), READONLY,
     "the label's id in this process's segment (0 when recording is disabled)"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject Label_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timekeeper.Label",
    .tp_basicsize = sizeof(LabelObject),
    .tp_dealloc = (destructor)Label_dealloc,
    .tp_repr = (reprfunc)Label_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("Label(name)\n--\n\n"
                        "A registered label. label.point(client, command, session, **context)\n"
                        "records it without looking the name up."),
    .tp_methods = Label_methods,
    .tp_members = Label_members,
    .tp_new = Label_new,
};

/* ---- timers -------------------------------------------------------------------------------------- */

/* The library's timer for `name` (cached by name). Returns NULL with an exception on a bad name or
 * a full name table. */
static tk_timer_t *timer_get(PyObject *name)
{
    if (PyUnicode_Check(name) && !PyUnicode_CheckExact(name)) { /* a str subclass: its text */
        PyObject *plain = PyUnicode_FromObject(name);
        if (!plain)
            return NULL;
        tk_timer_t *t = timer_get(plain);
        Py_DECREF(plain);
        return t;
    }
    PyObject *v = PyDict_GetItemWithError(timer_ptrs, name); /* borrowed */
    if (v)
        return PyLong_AsVoidPtr(v);
    if (PyErr_Occurred())
        return NULL;
    const char *s = name_check(name, "timer", 1);
    if (!s)
        return NULL;
    tk_timer_t *t;
    int rc = tk_timer_register(s, &t);
    if (rc) { /* the name was checked: the table is full */
        PyErr_Format(PyExc_RuntimeError, "cannot register timer %R: %s", name, tk_strerror(rc));
        return NULL;
    }
    PyObject *p = PyLong_FromVoidPtr(t);
    if (!p)
        return NULL;
    rc = PyDict_SetItem(timer_ptrs, name, p);
    Py_DECREF(p);
    return rc ? NULL : t;
}

/* One open entry of a timer: who entered (the thread, or the asyncio task for `async with`) and
 * when. An exit pairs with the innermost open entry of the same owner, so one Timer object can be
 * shared by threads and tasks. */
typedef struct timer_entry {
    uintptr_t owner;
    uint64_t start;
} timer_entry;

typedef struct {
    PyObject_HEAD
    tk_timer_t *timer;
    PyObject *name;
    timer_entry *starts; /* entries not yet matched by an exit, innermost last */
    Py_ssize_t depth, cap;
    timer_entry inline_starts[4];
} TimerObject;

static PyTypeObject Timer_Type, Timed_Type;

static PyObject *timer_new_object(PyTypeObject *type, PyObject *name)
{
    tk_timer_t *t = timer_get(name);
    if (!t)
        return NULL;
    TimerObject *o = (TimerObject *)type->tp_alloc(type, 0);
    if (!o)
        return NULL;
    o->timer = t;
    o->name = Py_NewRef(name);
    o->starts = o->inline_starts;
    o->depth = 0;
    o->cap = (Py_ssize_t)(sizeof o->inline_starts / sizeof o->inline_starts[0]);
    return (PyObject *)o;
}

static PyObject *Timer_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"name", NULL};
    PyObject *name;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Timer", kwlist, &name))
        return NULL;
    return timer_new_object(type, name);
}

static void Timer_dealloc(TimerObject *o)
{
    if (o->starts != o->inline_starts)
        PyMem_Free(o->starts);
    Py_XDECREF(o->name);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

static PyObject *Timer_repr(TimerObject *o)
{
    return PyUnicode_FromFormat("<timekeeper.Timer %R>", o->name);
}

/* Opens an entry for `owner` starting now. Returns 0 or -1 with an exception. The GIL serialises
 * every access to the entries. */
static int timer_push(TimerObject *o, uintptr_t owner)
{
    if (TK_UNLIKELY(o->depth == o->cap)) {
        if (o->cap >= TIMER_MAX_DEPTH) {
            PyErr_Format(PyExc_RuntimeError, "timer %R entered %zd times without an exit",
                         o->name, o->depth);
            return -1;
        }
        Py_ssize_t cap = o->cap * 4;
        timer_entry *s = PyMem_Malloc((size_t)cap * sizeof *s);
        if (!s) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(s, o->starts, (size_t)o->depth * sizeof *s);
        if (o->starts != o->inline_starts)
            PyMem_Free(o->starts);
        o->starts = s;
        o->cap = cap;
    }
    timer_entry *e = &o->starts[o->depth++];
    e->owner = owner;
    e->start = tk_now(); /* last: the span starts when the body does */
    return 0;
}

/* Records the span of owner's innermost open entry, ending at stop. Returns 0 or -1 with
 * RuntimeError when owner has no open entry. Usually the top entry: one compare. */
static int timer_pop(TimerObject *o, uintptr_t owner, uint64_t stop, const char *how)
{
    for (Py_ssize_t i = o->depth - 1; i >= 0; i--) {
        if (o->starts[i].owner != owner)
            continue;
        uint64_t start = o->starts[i].start;
        memmove(&o->starts[i], &o->starts[i + 1], (size_t)(o->depth - 1 - i) * sizeof *o->starts);
        o->depth--;
        tk_record(o->timer, start, stop, 0);
        return 0;
    }
    const int async = how[2] == 'a';
    PyErr_Format(PyExc_RuntimeError, "timer %R: %s without %s in this %s", o->name, how,
                 async ? "__aenter__" : "__enter__", async ? "task" : "thread");
    return -1;
}

static PyObject *Timer_enter(TimerObject *o, PyObject *unused)
{
    (void)unused;
    if (timer_push(o, (uintptr_t)PyThread_get_thread_ident()))
        return NULL;
    return Py_NewRef((PyObject *)o);
}

static PyObject *Timer_exit(TimerObject *o, PyObject *const *args, Py_ssize_t nargs)
{
    const uint64_t stop = tk_now(); /* first: the span ends when the body did */
    (void)args;
    (void)nargs;
    if (timer_pop(o, (uintptr_t)PyThread_get_thread_ident(), stop, "__exit__"))
        return NULL;
    Py_RETURN_FALSE; /* an exception in the body propagates */
}

/* _push(owner) / _pop(owner): the entries of `async with` (timekeeper._wrappers), owned by the
 * running task. */
static PyObject *Timer_push_owner(TimerObject *o, PyObject *owner)
{
    uintptr_t key = (uintptr_t)PyLong_AsVoidPtr(owner);
    if (PyErr_Occurred() || timer_push(o, key))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *Timer_pop_owner(TimerObject *o, PyObject *owner)
{
    const uint64_t stop = tk_now();
    uintptr_t key = (uintptr_t)PyLong_AsVoidPtr(owner);
    if (PyErr_Occurred() || timer_pop(o, key, stop, "__aexit__"))
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *call_helper(const char *module, const char *func, PyObject *a, PyObject *b);

static PyObject *Timer_aenter(TimerObject *o, PyObject *unused)
{
    (void)unused;
    return call_helper("timekeeper._wrappers", "timer_aenter", (PyObject *)o, Py_None);
}

static PyObject *Timer_aexit(TimerObject *o, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    (void)nargs;
    return call_helper("timekeeper._wrappers", "timer_aexit", (PyObject *)o, Py_None);
}

static int ticks_get(PyObject *o, const char *what, uint64_t *out)
{
    if (PyLong_Check(o) && !PyBool_Check(o)) {
        unsigned long v = PyLong_AsUnsignedLong(o);
        if (v == (unsigned long)-1 && PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError, "%s must be an int in [0, 2**64-1] (ticks), got %.60R",
                             what, o);
            }
            return -1;
        }
        *out = v;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s must be an int (ticks from timekeeper.now()), not '%.100s'",
                 what, Py_TYPE(o)->tp_name);
    return -1;
}

static PyObject *Timer_start(TimerObject *o, PyObject *unused)
{
    (void)o;
    (void)unused;
    return PyLong_FromUnsignedLongLong(tk_now());
}

static PyObject *Timer_stop(TimerObject *o, PyObject *start_obj)
{
    const uint64_t stop = tk_now();
    uint64_t start;
    if (ticks_get(start_obj, "start", &start))
        return NULL;
    tk_record(o->timer, start, stop, 0);
    return PyLong_FromUnsignedLongLong(stop);
}

static PyObject *Timer_record(TimerObject *o, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"start", "stop", "origin", NULL};
    PyObject *a, *b, *c = NULL;
    uint64_t start, stop, origin = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|O:record", kwlist, &a, &b, &c))
        return NULL;
    if (ticks_get(a, "start", &start) || ticks_get(b, "stop", &stop) ||
        (c && c != Py_None && ticks_get(c, "origin", &origin)))
        return NULL;
    tk_record(o->timer, start, stop, origin);
    Py_RETURN_NONE;
}

/* ---- the decorator: a callable that times each call of the function it wraps -------------------- */

typedef struct {
    PyObject_HEAD
    tk_timer_t *timer;
    PyObject *name;
    PyObject *func;
    PyObject *dict;
    PyObject *weakrefs;
    vectorcallfunc vectorcall;
} TimedObject;

static PyObject *Timed_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames)
{
    TimedObject *w = (TimedObject *)self;
    const uint64_t start = tk_now();
    PyObject *r = PyObject_Vectorcall(w->func, args, nargsf, kwnames);
    tk_record(w->timer, start, tk_now(), 0); /* recorded whether it returned or raised */
    return r;
}

/* Bound to an instance like a function, so a decorated method gets its self. */
static PyObject *Timed_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static int Timed_traverse(TimedObject *w, visitproc visit, void *arg)
{
    Py_VISIT(w->func);
    Py_VISIT(w->dict);
    return 0;
}

static int Timed_clear(TimedObject *w)
{
    Py_CLEAR(w->func);
    Py_CLEAR(w->dict);
    return 0;
}

static void Timed_dealloc(TimedObject *w)
{
    PyObject_GC_UnTrack(w);
    if (w->weakrefs)
        PyObject_ClearWeakRefs((PyObject *)w);
    Timed_clear(w);
    Py_XDECREF(w->name);
    PyObject_GC_Del(w);
}

static PyObject *Timed_repr(TimedObject *w)
{
    return PyUnicode_FromFormat("<timed %R, timer %R>", w->func, w->name);
}

static PyMemberDef Timed_members[] = {
    {"timer_name", T_OBJECT_EX, offsetof(TimedObject, name), READONLY, "the timer's name"},
    {"__dictoffset__", T_PYSSIZET, offsetof(TimedObject, dict), READONLY, NULL},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(TimedObject, weakrefs), READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(TimedObject, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef Timed_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject Timed_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timekeeper.TimedFunction",
    .tp_basicsize = sizeof(TimedObject),
    .tp_dealloc = (destructor)Timed_dealloc,
    .tp_vectorcall_offset = offsetof(TimedObject, vectorcall),
    .tp_repr = (reprfunc)Timed_repr,
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
                Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = PyDoc_STR("A function wrapped by a timekeeper timer: every call is recorded."),
    .tp_traverse = (traverseproc)Timed_traverse,
    .tp_clear = (inquiry)Timed_clear,
    .tp_weaklistoffset = offsetof(TimedObject, weakrefs),
    .tp_members = Timed_members,
    .tp_getset = Timed_getset,
    .tp_descr_get = Timed_descr_get,
    .tp_dictoffset = offsetof(TimedObject, dict),
};

/* Calls module.func(*args) for a Python-level helper. Returns a new reference or NULL. */
static PyObject *call_helper(const char *module, const char *func, PyObject *a, PyObject *b)
{
    PyObject *m = PyImport_ImportModule(module);
    if (!m)
        return NULL;
    PyObject *r = PyObject_CallMethod(m, func, "OO", a, b);
    Py_DECREF(m);
    return r;
}

/* timer(name)(func): a coroutine function gets an async wrapper (timekeeper._wrappers) that times
 * the whole coroutine; any other callable a TimedFunction. Both carry func's name and docstring. */
static PyObject *Timer_call(TimerObject *o, PyObject *args, PyObject *kwds)
{
    PyObject *func;
    if ((kwds && PyDict_GET_SIZE(kwds)) || PyTuple_GET_SIZE(args) != 1) {
        PyErr_Format(PyExc_TypeError,
                     "a timer decorates one callable: @timekeeper.timer(%R) above a def", o->name);
        return NULL;
    }
    func = PyTuple_GET_ITEM(args, 0);
    if (!PyCallable_Check(func)) {
        PyErr_Format(PyExc_TypeError, "timer %R can only decorate a callable, not '%.100s'",
                     o->name, Py_TYPE(func)->tp_name);
        return NULL;
    }
    PyObject *inspect = PyImport_ImportModule("inspect");
    if (!inspect)
        return NULL;
    PyObject *flag = PyObject_CallMethod(inspect, "iscoroutinefunction", "O", func);
    Py_DECREF(inspect);
    if (!flag)
        return NULL;
    int coro = PyObject_IsTrue(flag);
    Py_DECREF(flag);
    if (coro < 0)
        return NULL;
    if (coro)
        return call_helper("timekeeper._wrappers", "wrap_coroutine", (PyObject *)o, func);
    /* a generator function returns at once: its span is the iteration, not the call */
    static const char *const gen_kinds[2][2] = {{"isgeneratorfunction", "wrap_generator"},
                                                {"isasyncgenfunction", "wrap_async_generator"}};
    for (int k = 0; k < 2; k++) {
        inspect = PyImport_ImportModule("inspect");
        if (!inspect)
            return NULL;
        flag = PyObject_CallMethod(inspect, gen_kinds[k][0], "O", func);
        Py_DECREF(inspect);
        if (!flag)
            return NULL;
        int is = PyObject_IsTrue(flag);
        Py_DECREF(flag);
        if (is < 0)
            return NULL;
        if (is)
            return call_helper("timekeeper._wrappers", gen_kinds[k][1], (PyObject *)o, func);
    }

    TimedObject *w = PyObject_GC_New(TimedObject, &Timed_Type);
    if (!w)
        return NULL;
    w->timer = o->timer;
    w->name = Py_NewRef(o->name);
    w->func = Py_NewRef(func);
    w->dict = NULL;
    w->weakrefs = NULL;
    w->vectorcall = Timed_vectorcall;
    PyObject_GC_Track(w);
    PyObject *r = call_helper("functools", "update_wrapper", (PyObject *)w, func);
    if (!r) {
        Py_DECREF(w);
        return NULL;
    }
    Py_DECREF(r); /* update_wrapper returns w itself */
    return (PyObject *)w;
}

static PyMethodDef Timer_methods[] = {
    {"__enter__", (PyCFunction)Timer_enter, METH_NOARGS, "Starts a span (returns the timer)."},
    {"__exit__", (PyCFunction)(void (*)(void))Timer_exit, METH_FASTCALL,
     "Records the span of the innermost __enter__; never swallows an exception."},
    {"__aenter__", (PyCFunction)Timer_aenter, METH_NOARGS,
     "Starts a span owned by the running task (async with)."},
    {"__aexit__", (PyCFunction)(void (*)(void))Timer_aexit, METH_FASTCALL,
     "Records the span of this task's innermost __aenter__; never swallows an exception."},
    {"_push", (PyCFunction)Timer_push_owner, METH_O, NULL},
    {"_pop", (PyCFunction)Timer_pop_owner, METH_O, NULL},
    {"start", (PyCFunction)Timer_start, METH_NOARGS,
     "start()\n--\n\nReturns now() (ticks), to pass to stop()."},
    {"stop", (PyCFunction)Timer_stop, METH_O,
     "stop(start)\n--\n\nRecords the span start..now; returns now (ticks)."},
    {"record", (PyCFunction)(void (*)(void))Timer_record, METH_VARARGS | METH_KEYWORDS,
     "record(start, stop, origin=0)\n--\n\nRecords a span of explicit ticks; origin (when not 0)\n"
     "also gives a latency start - origin."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Timer_members[] = {
    {"name", T_OBJECT_EX, offsetof(TimerObject, name), READONLY, "the timer's name"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject Timer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timekeeper.Timer",
    .tp_basicsize = sizeof(TimerObject),
    .tp_dealloc = (destructor)Timer_dealloc,
    .tp_repr = (reprfunc)Timer_repr,
    .tp_call = (ternaryfunc)Timer_call,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR(
        "Timer(name)\n--\n\n"
        "A named timer (1 to 55 printable ASCII characters, no ','). As a context manager it\n"
        "records the time of its block, also when the block raises (the exception propagates);\n"
        "as a decorator it records every call (a generator's or coroutine's whole run). Entries\n"
        "nest per thread (`with`) and per task (`async with`): an exit pairs with the innermost\n"
        "enter of the same thread or task, so one Timer can be shared."),
    .tp_methods = Timer_methods,
    .tp_members = Timer_members,
    .tp_new = Timer_new,
};

/* ---- module functions ---------------------------------------------------------------------------- */

static PyObject *py_noop(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    Py_RETURN_NONE;
}

/* The fair floor of point(): the same calling convention (vectorcall with keywords) and the same
 * arguments, nothing done with them. */
static PyObject *py_noop_point(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames)
{
    (void)self;
    (void)args;
    (void)nargs;
    (void)kwnames;
    Py_RETURN_NONE;
}

static PyObject *py_now(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromUnsignedLongLong(tk_now());
}

static PyObject *py_now_ns(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromUnsignedLongLong(tk_ticks_to_ns(tk_now()));
}

static PyObject *py_ticks_to_ns(PyObject *self, PyObject *arg)
{
    (void)self;
    uint64_t t;
    if (ticks_get(arg, "ticks", &t))
        return NULL;
    return PyLong_FromUnsignedLongLong(tk_ticks_to_ns(t));
}

static PyObject *py_label(PyObject *self, PyObject *name)
{
    (void)self;
    return label_new_object(name);
}

static PyObject *py_timer(PyObject *self, PyObject *name)
{
    (void)self;
    return timer_new_object(&Timer_Type, name);
}

/* The errno that explains why no segment could be created in dir: the directory's own (ENOENT,
 * ENOTDIR, EACCES), else the library's (`fallback`), else EIO. */
static int init_dir_errno(const char *dir, int fallback)
{
    struct stat st;
    if (!dir || !*dir)
        dir = "/dev/shm";
    if (stat(dir, &st) != 0)
        return errno;
    if (!S_ISDIR(st.st_mode))
        return ENOTDIR;
    if (access(dir, W_OK | X_OK) != 0)
        return errno;
    return fallback ? fallback : EIO;
}

static PyObject *py_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    (void)self;
    static char *kwlist[] = {"dir", "ring_size", "max_threads", "disable", "clock", NULL};
    PyObject *dir = Py_None, *clock = Py_None;
    unsigned long long ring_size = 0, max_threads = 0;
    int disable = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O$KKpO:init", kwlist, &dir, &ring_size,
                                     &max_threads, &disable, &clock))
        return NULL;
    tk_options o = {0};
    PyObject *dir_bytes = NULL;
    if (dir != Py_None) {
        if (!PyUnicode_FSConverter(dir, &dir_bytes))
            return NULL;
        o.dir = PyBytes_AS_STRING(dir_bytes);
    }
    if (ring_size > UINT32_MAX || max_threads > UINT32_MAX) {
        Py_XDECREF(dir_bytes);
        PyErr_SetString(PyExc_ValueError, "ring_size and max_threads must fit in 32 bits");
        return NULL;
    }
    o.ring_size = (uint32_t)ring_size;
    o.max_threads = (uint32_t)max_threads;
    o.disable = disable;
    if (clock != Py_None) {
        if (PyUnicode_Check(clock) && PyUnicode_CompareWithASCIIString(clock, "monotonic") == 0)
            o.clock = TK_CLOCK_MONOTONIC;
        else if (!(PyUnicode_Check(clock) && (PyUnicode_CompareWithASCIIString(clock, "auto") == 0 ||
                                              PyUnicode_CompareWithASCIIString(clock, "tsc") == 0))) {
            Py_XDECREF(dir_bytes);
            PyErr_Format(PyExc_ValueError, "clock must be 'auto', 'tsc' or 'monotonic', not %.60R",
                         clock);
            return NULL;
        }
    }
    errno = 0;
    int rc = tk_init(&o);
    int err = errno;
    if (rc == TK_ESEGMENT) /* name the directory and why: stat() it for a precise errno */
        err = init_dir_errno(o.dir ? o.dir : getenv("TK_DIR"), err);
    Py_XDECREF(dir_bytes);
    if (rc == TK_EALREADY) {
        PyErr_SetString(PyExc_RuntimeError,
                        "timekeeper.init(): already initialised (call it before any point, timer or "
                        "clock use)");
        return NULL;
    }
    if (rc == TK_EINVAL) {
        PyErr_SetString(PyExc_ValueError,
                        "timekeeper.init(): bad options (ring_size a power of two in [1024, 2**24], "
                        "max_threads <= 4096, clock 'auto', 'tsc' or 'monotonic')");
        return NULL;
    }
    if (rc == TK_ESEGMENT) {
        PyObject *path = dir != Py_None ? Py_NewRef(dir)
                         : PyUnicode_DecodeFSDefault(getenv("TK_DIR") ? getenv("TK_DIR") : "/dev/shm");
        if (!path)
            return NULL;
        PyObject *msg = PyUnicode_FromFormat("timekeeper.init(): %s (recording is disabled): %s",
                                             tk_strerror(rc), strerror(err));
        PyObject *exc = msg ? PyObject_CallFunction(PyExc_OSError, "iOO", err, msg, path) : NULL;
        Py_XDECREF(msg);
        Py_DECREF(path);
        if (exc) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *py_enabled(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(tk_enabled());
}

static PyObject *py_timing_enabled(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(tk_timing_text_enabled());
}

static PyObject *py_segment_path(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_DecodeFSDefault(tk_segment_path());
}

static PyObject *py_clock_source(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    switch (tk_clock_source()) {
    case TK_CLOCK_TSC:
        return PyUnicode_FromString("tsc");
    case TK_CLOCK_CNTVCT:
        return PyUnicode_FromString("cntvct");
    case TK_CLOCK_MONOTONIC:
        return PyUnicode_FromString("monotonic");
    default:
        return PyUnicode_FromString("unknown");
    }
}

static PyObject *py_ticks_per_second(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyFloat_FromDouble(tk_ticks_per_second());
}

static PyObject *py_thread_name(PyObject *self, PyObject *name)
{
    (void)self;
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "thread name must be a str, not '%.100s'",
                     Py_TYPE(name)->tp_name);
        return NULL;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(name, &n);
    if (!s)
        return NULL;
    if ((size_t)n != strlen(s)) {
        PyErr_SetString(PyExc_ValueError, "thread name must not contain NUL characters");
        return NULL;
    }
    char buf[16]; /* the kernel keeps 15 bytes */
    snprintf(buf, sizeof buf, "%s", s);
    tk_thread_name(buf);
    Py_RETURN_NONE;
}

static PyObject *py_thread_exit(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tk_thread_exit();
    Py_RETURN_NONE;
}

static PyObject *py_version(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    unsigned v = tk_version();
    return PyUnicode_FromFormat("%u.%u.%u", v / 10000, v / 100 % 100, v % 100);
}

/* ==== counters, gauges and stages (tk.counter / tk.gauge / tk.stage): this block only ========== */
/* The C side of python/timekeeper/_counters.py. A counter or gauge is known to Python by a small
 * handle, an index into the tables below (checked on every call, so a wrong int raises instead of
 * reaching the library). Cost of _counter_add(h, n): one METH_FASTCALL call, two int conversions
 * and tk_counter_add. */
#define PY_TK_MAX_HANDLES 4096
static tk_counter_t *py_counters[PY_TK_MAX_HANDLES];
static tk_gauge_t *py_gauges[PY_TK_MAX_HANDLES];
static int py_ncounters, py_ngauges;

/* Registers name with reg into table; returns its handle or NULL with an exception set. */
static PyObject *py_handle_register(PyObject *name, void **table, int *n, const char *what,
                                    int (*reg)(const char *, void **))
{
    const char *s = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "%s name must be str", what);
        return NULL;
    }
    void *h;
    int rc = reg(s, &h);
    if (rc) {
        PyErr_Format(PyExc_ValueError, "%s %R: %s", what, name, tk_strerror(rc));
        return NULL;
    }
    for (int i = 0; i < *n; i++) /* the library gives the same pointer for the same name */
        if (table[i] == h)
            return PyLong_FromLong(i);
    if (*n >= PY_TK_MAX_HANDLES) {
        PyErr_Format(PyExc_ValueError, "%s %R: too many", what, name);
        return NULL;
    }
    table[*n] = h;
    return PyLong_FromLong((*n)++);
}

static int py_counter_reg(const char *s, void **out) { return tk_counter_register(s, (tk_counter_t **)out); }
static int py_gauge_reg(const char *s, void **out) { return tk_gauge_register(s, (tk_gauge_t **)out); }

static PyObject *py_counter_register(PyObject *self, PyObject *name)
{
    (void)self;
    return py_handle_register(name, (void **)py_counters, &py_ncounters, "counter", py_counter_reg);
}

static PyObject *py_gauge_register(PyObject *self, PyObject *name)
{
    (void)self;
    return py_handle_register(name, (void **)py_gauges, &py_ngauges, "gauge", py_gauge_reg);
}

/* The handle in o, or -1 with an exception set. */
static long py_handle_get(PyObject *o, int n)
{
    long h = PyLong_AsLong(o);
    if (h == -1 && PyErr_Occurred())
        return -1;
    if (h < 0 || h >= n) {
        PyErr_SetString(PyExc_ValueError, "not a handle of this module");
        return -1;
    }
    return h;
}

static PyObject *py_counter_add(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 1 && nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_counter_add(handle, n=1)");
        return NULL;
    }
    long h = py_handle_get(args[0], py_ncounters);
    if (h < 0)
        return NULL;
    unsigned long long n = nargs == 2 ? PyLong_AsUnsignedLongLong(args[1]) : 1;
    if (n == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    tk_counter_add(py_counters[h], (uint64_t)n);
    Py_RETURN_NONE;
}

static PyObject *py_counter_thread_value(PyObject *self, PyObject *arg)
{
    (void)self;
    long h = py_handle_get(arg, py_ncounters);
    return h < 0 ? NULL : PyLong_FromUnsignedLongLong(tk_counter_thread_value(py_counters[h]));
}

static PyObject *py_gauge_set(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_gauge_set(handle, value)");
        return NULL;
    }
    long h = py_handle_get(args[0], py_ngauges);
    if (h < 0)
        return NULL;
    long long v = PyLong_AsLongLong(args[1]);
    if (v == -1 && PyErr_Occurred())
        return NULL;
    tk_gauge_set(py_gauges[h], (int64_t)v);
    Py_RETURN_NONE;
}

static PyObject *py_gauge_value(PyObject *self, PyObject *arg)
{
    (void)self;
    long h = py_handle_get(arg, py_ngauges);
    return h < 0 ? NULL : PyLong_FromLongLong(tk_gauge_value(py_gauges[h]));
}

static PyObject *py_stage(PyObject *self, PyObject *name)
{
    (void)self;
    const char *s = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    if (!s) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "stage name must be str");
        return NULL;
    }
    return PyBool_FromLong(tk_stage(s));
}

#define PY_TK_COUNTER_METHODS                                                                  \
    {"_counter_register", py_counter_register, METH_O,                                         \
     "_counter_register(name)\n--\n\nRegisters counter `name`; returns its handle."},          \
    {"_counter_add", (PyCFunction)(void (*)(void))py_counter_add, METH_FASTCALL,              \
     "_counter_add(handle, n=1)\n--\n\nAdds n (>= 0) to the counter."},                          \
    {"_counter_thread_value", py_counter_thread_value, METH_O,                                 \
     "_counter_thread_value(handle)\n--\n\nThis thread's share of the counter's total."},      \
    {"_gauge_register", py_gauge_register, METH_O,                                             \
     "_gauge_register(name)\n--\n\nRegisters gauge `name`; returns its handle."},              \
    {"_gauge_set", (PyCFunction)(void (*)(void))py_gauge_set, METH_FASTCALL,                  \
     "_gauge_set(handle, value)\n--\n\nSets the gauge to an int64 value."},                    \
    {"_gauge_value", py_gauge_value, METH_O,                                                   \
     "_gauge_value(handle)\n--\n\nThe gauge's current value."},                                \
    {"stage", py_stage, METH_O,                                                                \
     "stage(name)\n--\n\nTrue unless TK_DISABLE_STAGES switched stage `name` off."},
/* ==== end of counters, gauges and stages ======================================================= */

/* ==== asyncio task profiling (timekeeper.asyncio) =============================================== *
 * TaskCoro wraps the coroutine of one asyncio task: each send()/throw() the Task makes is one slice
 * (tk_task_running before, tk_task_paused after a yield, tk_task_completed / failed / cancelled at
 * the end). The task type is the coroutine's code object: qualified name, file, first line,
 * registered once (dict code -> type). Cost of a step: the wrapper's am_send, two library calls. */
typedef struct {
    PyObject_HEAD
    PyObject *coro;
    tk_task_t task;
    int state;      /* 0: created, 1: started, 2: done, -1: not profiled */
} TaskCoroObject;

static PyTypeObject TaskCoro_Type;
static PyObject *task_types;       /* dict: code object (or type) -> int (tk_task_type_t *) */
static PyObject *cancelled_error;  /* asyncio.CancelledError */

static tk_task_type_t *task_type_of(PyObject *coro)
{
    PyObject *key = PyCoro_CheckExact(coro) ? PyObject_GetAttrString(coro, "cr_code") : NULL;
    if (!key) {
        PyErr_Clear();
        key = Py_NewRef((PyObject *)Py_TYPE(coro));
    }
    PyObject *v = PyDict_GetItemWithError(task_types, key);
    if (v) {
        Py_DECREF(key);
        return (tk_task_type_t *)PyLong_AsVoidPtr(v);
    }
    tk_task_type_t *type = NULL;
    PyObject *qn = NULL, *fn = NULL;
    int line = 0;
    if (PyCode_Check(key)) {
        PyCodeObject *code = (PyCodeObject *)key;
        qn = PyObject_GetAttrString(key, "co_qualname");
        fn = Py_NewRef(code->co_filename);
        line = code->co_firstlineno;
    } else {
        qn = PyObject_GetAttrString(key, "__qualname__");
    }
    const char *q = qn && PyUnicode_Check(qn) ? PyUnicode_AsUTF8(qn) : NULL;
    const char *f = fn && PyUnicode_Check(fn) ? PyUnicode_AsUTF8(fn) : NULL;
    PyErr_Clear();
    if (tk_task_type_register(q && *q ? q : "?", f, line, &type) != 0)
        type = NULL; /* not profiled (a name over TK_TASK_FUNC_MAX, the types full) */
    Py_XDECREF(qn);
    Py_XDECREF(fn);
    PyObject *iv = PyLong_FromVoidPtr(type);
    if (iv)
        PyDict_SetItem(task_types, key, iv);
    Py_XDECREF(iv);
    Py_DECREF(key);
    PyErr_Clear();
    return type;
}

static int cancelled_error_get(void)
{
    if (cancelled_error)
        return 0;
    PyObject *m = PyImport_ImportModule("asyncio");
    if (!m)
        return -1;
    cancelled_error = PyObject_GetAttrString(m, "CancelledError");
    Py_DECREF(m);
    return cancelled_error ? 0 : -1;
}

/* The end of a step that raised (the exception is set): completed on StopIteration, cancelled on
 * CancelledError, failed otherwise. */
static void task_end_raised(TaskCoroObject *w)
{
    if (w->state < 0 || w->state == 2)
        return;
    w->state = 2;
    if (PyErr_ExceptionMatches(PyExc_StopIteration))
        tk_task_completed(&w->task);
    else if (cancelled_error && PyErr_ExceptionMatches(cancelled_error))
        tk_task_cancelled(&w->task);
    else
        tk_task_failed(&w->task);
}

static PySendResult TaskCoro_am_send(PyObject *self, PyObject *arg, PyObject **result)
{
    TaskCoroObject *w = (TaskCoroObject *)self;
    if (w->state >= 0) {
        if (tk_task_running(&w->task) == 0 && w->state == 0)
            w->state = 1; /* a finished task's step is refused and counted as a zombie event */
    }
    PySendResult r = PyIter_Send(w->coro, arg, result);
    if (w->state == 1) {
        if (r == PYGEN_NEXT)
            tk_task_paused(&w->task);
        else if (r == PYGEN_RETURN) {
            w->state = 2;
            tk_task_completed(&w->task);
        } else
            task_end_raised(w);
    }
    return r;
}

static PyObject *TaskCoro_send(PyObject *self, PyObject *arg)
{
    PyObject *res;
    PySendResult r = TaskCoro_am_send(self, arg, &res);
    if (r == PYGEN_RETURN) {
        if (res == Py_None)
            PyErr_SetNone(PyExc_StopIteration);
        else
            _PyGen_SetStopIterationValue(res);
        Py_DECREF(res);
        return NULL;
    }
    return r == PYGEN_NEXT ? res : NULL;
}

static PyObject *TaskCoro_throw(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    TaskCoroObject *w = (TaskCoroObject *)self;
    if (w->state == 0 && nargs >= 1 && cancelled_error &&
        (PyObject_TypeCheck(args[0], (PyTypeObject *)cancelled_error) ||
         (PyType_Check(args[0]) && PyObject_IsSubclass(args[0], cancelled_error) == 1))) {
        /* cancelled before its first step: it never runs (stillborn) */
        w->state = 2;
        tk_task_cancelled(&w->task);
    } else if (w->state >= 0 && tk_task_running(&w->task) == 0 && w->state == 0) {
        w->state = 1;
    }
    PyObject *meth = PyObject_GetAttrString(w->coro, "throw");
    PyObject *res = meth ? PyObject_Vectorcall(meth, args, (size_t)nargs, NULL) : NULL;
    Py_XDECREF(meth);
    if (w->state == 1) {
        if (res)
            tk_task_paused(&w->task);
        else
            task_end_raised(w);
    }
    return res;
}

static PyObject *TaskCoro_close(PyObject *self, PyObject *unused)
{
    (void)unused;
    TaskCoroObject *w = (TaskCoroObject *)self;
    return PyObject_CallMethod(w->coro, "close", NULL);
}

static PyObject *TaskCoro_await(PyObject *self)
{
    return Py_NewRef(self);
}

static PyObject *TaskCoro_iternext(PyObject *self) { return TaskCoro_send(self, Py_None); }

static PyObject *TaskCoro_getattro(PyObject *self, PyObject *name)
{
    PyObject *r = PyObject_GenericGetAttr(self, name);
    if (r || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return r;
    PyErr_Clear(); /* cr_code, cr_frame, __qualname__...: the wrapped coroutine's */
    return PyObject_GetAttr(((TaskCoroObject *)self)->coro, name);
}

static PyObject *TaskCoro_repr(PyObject *self)
{
    return PyObject_Repr(((TaskCoroObject *)self)->coro);
}

static int TaskCoro_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(((TaskCoroObject *)self)->coro);
    return 0;
}

static int TaskCoro_clear(PyObject *self)
{
    Py_CLEAR(((TaskCoroObject *)self)->coro);
    return 0;
}

static void TaskCoro_dealloc(PyObject *self)
{
    TaskCoroObject *w = (TaskCoroObject *)self;
    PyObject_GC_UnTrack(self);
    if (w->state == 0 || w->state == 1) {
        w->state = 2;
        tk_task_cancelled(&w->task); /* dropped unfinished (a closed loop's pending task) */
    }
    TaskCoro_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyAsyncMethods TaskCoro_async = {.am_await = TaskCoro_await, .am_send = TaskCoro_am_send};

static PyMethodDef TaskCoro_methods[] = {
    {"send", TaskCoro_send, METH_O, "Runs the coroutine's next step (one profiled slice)."},
    {"throw", (PyCFunction)(void (*)(void))TaskCoro_throw, METH_FASTCALL,
     "Throws into the coroutine (one profiled slice)."},
    {"close", TaskCoro_close, METH_NOARGS, "Closes the wrapped coroutine."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef TaskCoro_members[] = {
    {"__wrapped__", T_OBJECT, offsetof(TaskCoroObject, coro), READONLY, "The coroutine."},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject TaskCoro_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "timekeeper._timekeeper.TaskCoro",
    .tp_basicsize = sizeof(TaskCoroObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A coroutine profiled as a timekeeper task (made by timekeeper.asyncio).",
    .tp_as_async = &TaskCoro_async,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = TaskCoro_iternext,
    .tp_getattro = TaskCoro_getattro,
    .tp_repr = TaskCoro_repr,
    .tp_traverse = TaskCoro_traverse,
    .tp_clear = TaskCoro_clear,
    .tp_dealloc = TaskCoro_dealloc,
    .tp_methods = TaskCoro_methods,
    .tp_members = TaskCoro_members,
};

static PyObject *py_task_wrap(PyObject *self, PyObject *coro)
{
    (void)self;
    if (!task_types) {
        if (PyType_Ready(&TaskCoro_Type) < 0 || !(task_types = PyDict_New()))
            return NULL;
    }
    if (cancelled_error_get() < 0)
        return NULL;
    TaskCoroObject *w = PyObject_GC_New(TaskCoroObject, &TaskCoro_Type);
    if (!w)
        return NULL;
    w->coro = Py_NewRef(coro);
    w->state = -1;
    tk_task_type_t *type = task_type_of(coro);
    if (type && tk_task_created(&w->task, type) == 0)
        w->state = 0; /* its parent: the task whose step runs now on this thread */
    PyObject_GC_Track((PyObject *)w);
    return (PyObject *)w;
}

static PyObject *py_task_snapshot(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    size_t n = 0, cap = 64;
    tk_task_stats *s = NULL;
    for (;;) {
        tk_task_stats *ns = PyMem_Realloc(s, cap * sizeof *s);
        if (!ns) {
            PyMem_Free(s);
            return PyErr_NoMemory();
        }
        s = ns;
        int rc = tk_task_snapshot(s, cap, &n);
        if (rc == TK_EDISABLED)
            n = 0;
        else if (rc) {
            PyMem_Free(s);
            return PyErr_Format(PyExc_RuntimeError, "timekeeper: %s", tk_strerror(rc));
        }
        if (n <= cap)
            break;
        cap = n;
    }
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        const tk_task_stats *t = &s[i];
        PyObject *row = Py_BuildValue(
            "{s:s,s:s,s:i,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K}", "func",
            t->type->func, "file", t->type->file, "line", t->type->line, "created",
            (unsigned long long)t->created, "completed", (unsigned long long)t->completed,
            "failed", (unsigned long long)t->failed, "cancelled",
            (unsigned long long)t->cancelled, "stillborn", (unsigned long long)t->stillborn,
            "in_flight", (unsigned long long)t->in_flight, "zombie", (unsigned long long)t->zombie,
            "slices", (unsigned long long)t->slices, "exec_ns", (unsigned long long)t->exec_ns,
            "exec_with_children_ns", (unsigned long long)t->exec_with_children_ns, "wall_ns",
            (unsigned long long)t->wall_ns, "max_slice_ns", (unsigned long long)t->max_slice_ns,
            "max_exec_ns", (unsigned long long)t->max_exec_ns);
        if (!row) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, row);
    }
    PyMem_Free(s);
    return list;
}

#define TK_ASYNCIO_METHODS                                                                       \
    {"_task_wrap", py_task_wrap, METH_O,                                                         \
     "_task_wrap(coro)\n--\n\nThe coroutine wrapped as a profiled task (timekeeper.asyncio)."},  \
    {"_task_snapshot", py_task_snapshot, METH_NOARGS,                                            \
     "_task_snapshot()\n--\n\nThe calling thread's task totals, one dict per task type."},
/* ==== end of asyncio task profiling ============================================================= */


static PyMethodDef module_methods[] = {
    PY_TK_COUNTER_METHODS /* counters, gauges and stages: the block above */
    {"point", (PyCFunction)(void (*)(void))py_point, METH_FASTCALL | METH_KEYWORDS, point_doc},
    {"label", py_label, METH_O,
     "label(name)\n--\n\nRegisters label `name` and returns a Label with a fast .point()."},
    {"timer", py_timer, METH_O,
     "timer(name)\n--\n\nA Timer: context manager and decorator recording into timer `name`."},
    {"noop", py_noop, METH_NOARGS,
     "noop()\n--\n\nDoes nothing, in C: the floor of a Python-to-C call."},
    {"noop_point", (PyCFunction)(void (*)(void))py_noop_point, METH_FASTCALL | METH_KEYWORDS,
     "noop_point(label, client=None, command=None, session=None, **context)\n--\n\n"
     "Takes point()'s arguments and does nothing: the floor of a point() call."},
    {"now", py_now, METH_NOARGS,
     "now()\n--\n\nRaw ticks of timekeeper's clock (tk_now()); convert with ticks_to_ns()."},
    {"now_ns", py_now_ns, METH_NOARGS,
     "now_ns()\n--\n\nCLOCK_MONOTONIC nanoseconds, from timekeeper's clock."},
    {"ticks_to_ns", py_ticks_to_ns, METH_O,
     "ticks_to_ns(ticks)\n--\n\nConverts now() ticks to CLOCK_MONOTONIC nanoseconds."},
    {"init", (PyCFunction)(void (*)(void))py_init, METH_VARARGS | METH_KEYWORDS,
     "init(dir=None, *, ring_size=0, max_threads=0, disable=False, clock=None)\n--\n\n"
     "Initialises the library explicitly instead of from the environment (TK_DIR...).\n"
     "Must come before any point, timer or clock use; 0/None means the default."},
    {"enabled", py_enabled, METH_NOARGS, "enabled()\n--\n\nTrue when records are being kept."},
    {"timing_enabled", py_timing_enabled, METH_NOARGS,
     "timing_enabled()\n--\n\nTrue when TIMING text lines are written (TK_TIMING=1)."},
    {"segment_path", py_segment_path, METH_NOARGS,
     "segment_path()\n--\n\nThis process's segment file ('' when none)."},
    {"clock_source", py_clock_source, METH_NOARGS,
     "clock_source()\n--\n\n'tsc', 'cntvct' or 'monotonic'."},
    {"ticks_per_second", py_ticks_per_second, METH_NOARGS,
     "ticks_per_second()\n--\n\nThe clock's estimated rate."},
    {"thread_name", py_thread_name, METH_O,
     "thread_name(name)\n--\n\nNames the calling thread (15 bytes kept) and its ring."},
    {"thread_exit", py_thread_exit, METH_NOARGS,
     "thread_exit()\n--\n\nReleases the calling thread's ring now (threads release it at exit)."},
    {"version", py_version, METH_NOARGS,
     "version()\n--\n\nThe version of the libtimekeeper linked in."},
    TK_ASYNCIO_METHODS
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "timekeeper._timekeeper",
    .m_doc = "The C part of timekeeper: points, timers, the clock and the no-op probe.",
    .m_size = -1,
    .m_methods = module_methods,
};

/* The table other extensions use through timekeeper_capi.h, filled from its one list. */
static const tk_capi capi = {TK_CAPI_PROVIDER_INIT};

static int add_type(PyObject *m, PyTypeObject *t, const char *name)
{
    if (PyType_Ready(t) < 0)
        return -1;
    return PyModule_AddObjectRef(m, name, (PyObject *)t);
}

PyMODINIT_FUNC PyInit__timekeeper(void)
{
    if (tk_version() != TK_VERSION_NUMBER) {
        PyErr_Format(PyExc_ImportError, "timekeeper: built for library %u, linked with %u",
                     TK_VERSION_NUMBER, tk_version());
        return NULL;
    }
    PyObject *m = PyModule_Create(&module_def);
    if (!m)
        return NULL;
    str_label = PyUnicode_InternFromString("label");
    str_client = PyUnicode_InternFromString("client");
    str_command = PyUnicode_InternFromString("command");
    str_session = PyUnicode_InternFromString("session");
    label_ids = PyDict_New();
    timer_ptrs = PyDict_New();
    if (!str_label || !str_client || !str_command || !str_session || !label_ids || !timer_ptrs)
        goto err;
    if (add_type(m, &Label_Type, "Label") || add_type(m, &Timer_Type, "Timer") ||
        add_type(m, &Timed_Type, "TimedFunction"))
        goto err;
    PyObject *cap = PyCapsule_New((void *)&capi, TK_CAPI_CAPSULE, NULL);
    if (!cap)
        goto err;
    int rc = PyModule_AddObjectRef(m, "_C_API", cap);
    Py_DECREF(cap);
    if (rc < 0)
        goto err;
    if (PyModule_AddIntConstant(m, "CONTEXT_MAX", TK_CONTEXT_MAX) ||
        PyModule_AddIntConstant(m, "CONTEXT_TEXT_MAX", CTX_TEXT_MAX) ||
        PyModule_AddIntConstant(m, "NAME_MAX", TK_NAME_MAX))
        goto err;
    return m;
err:
    Py_DECREF(m);
    return NULL;
}
