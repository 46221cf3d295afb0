/* asyncflow.h — a small C library with an asynchronous operation: the C side of the async-flow
 * example. A request is sent, a worker thread completes it after a delay and signals an eventfd;
 * the caller checks for the response, and when it is not ready waits on that eventfd (select) and
 * checks again. The library is instrumented with timekeeper points (C_OP_QUEUED, C_CALLBACK_*,
 * C_*_EFD_*), so its side of each request shows up next to the caller's. */
#ifndef ASYNCFLOW_H
#define ASYNCFLOW_H

#include <stdint.h>

typedef struct af_client af_client;

/* Creates a client with its worker thread. Returns 0 or a negative errno (-ENOMEM, -EAGAIN). */
int af_client_new(uint64_t client_id, af_client **out);
/* Stops the worker and frees the client; requests still pending are dropped and their eventfds
 * closed. NULL is allowed. Not to be called while another thread uses the client. */
void af_client_free(af_client *c);

/* Sends a request: the operation doubles `value` and completes `delay_ns` later on the worker
 * thread; with delay_ns == 0 it completes at once, inside this call (a cache hit). Returns the
 * command id (> 0), or -EINVAL for a delay over an hour. Thread-safe. */
int64_t af_send(af_client *c, uint64_t session, uint64_t delay_ns, int64_t value);

/* Checks for the response of command `command`.
 * Returns 1 when it is done: *result is set and the command is forgotten (its eventfd, if any, is
 * closed). Returns 0 when it is pending: *efd is an eventfd (created at the first pending check,
 * owned by the library) that becomes readable when the command completes; read it, then check again.
 * Returns -ENOENT for an unknown (or already taken) command, -EMFILE/-ENFILE/-ENOMEM when the eventfd
 * can't be created. Thread-safe. */
int af_get_response(af_client *c, uint64_t command, int64_t *result, int *efd);

/* Number of commands sent and not yet taken. */
uint64_t af_pending(af_client *c);

#endif
