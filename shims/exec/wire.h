/* The shim <-> daemon framing (version 1). host/daemon/wire.ts is the other side; keep the two in step.
 *
 * Every frame: 12-byte header, then `length` payload bytes. All integers big-endian.
 *   magic "WCNI" | u16 version | u16 kind | u32 length
 * The header layout and the REJECT kind never change between versions, so either side can always tell the
 * other "wrong version" before anything runs.
 *
 * CALL   (client -> daemon): str plugin | u32 n | n x str "KEY=VALUE" (CNI_* only) | bytes stdin
 * RESULT (daemon -> client): i32 exit code | bytes stdout | bytes stderr
 * REJECT (daemon -> client): u16 reason | str message      (the call did not run)
 * STATUS (client -> daemon): empty;  STATUS_REPLY: UTF-8 JSON
 * str/bytes = u32 length + bytes.
 */
#ifndef WASM_CNI_WIRE_H
#define WASM_CNI_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC "WCNI"
#define WIRE_VERSION 1
#define WIRE_HEADER_LEN 12

enum wire_kind {
  WIRE_CALL = 1,
  WIRE_RESULT = 2,
  WIRE_REJECT = 3,
  WIRE_STATUS = 4,
  WIRE_STATUS_REPLY = 5,
};

enum wire_reject_reason {
  REJECT_VERSION = 1,    /* the daemon speaks another version: the shim takes the cold path */
  REJECT_BAD_FRAME = 2,  /* malformed or over a limit */
  REJECT_DENIED = 3,     /* the caller may not have the daemon act for it (uid, capabilities, user namespace) */
  REJECT_DRAINING = 4,   /* the daemon is shutting down: the shim takes the cold path */
  REJECT_OTHER_NAMESPACE = 5, /* the daemon cannot pin the caller: the shim takes the cold path */
};

#define WIRE_MAX_PAYLOAD (4u << 20) /* 4 MiB each way */
#define WIRE_MAX_ENV 256
#define WIRE_MAX_NAME 64

#endif
