#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the hand-made seed inputs of the fuzz targets (valid cases and
near misses) into fuzz/corpus/<target>/seed-*. The byte formats are those
the targets parse (see the comments at the top of fuzz-desc.c, fuzz-cap.c).
The rest of each corpus was found by the fuzzer and minimized with -merge=1.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FUTEX, EVENTFD, SIGNAL, UINTR_SIM = 1, 2, 3, 5

# fuzz-desc ops
(STATUS, PIR, POST, HEADER, WAIT0, WAIT, POLL, ARM, DRAIN, TX_NEW, NOTIFY, CHECK, SPIN,
 FOREIGN) = range(14)
ON, SN, CLOSED = 1, 2, 4
MAGIC, ABI = 0x43504975, 1


def u32(v):
    return struct.pack('<I', v & 0xffffffff)


def u64(v):
    return struct.pack('<Q', v & 0xffffffffffffffff)


def header_line(backend, pid=1, tid=1, magic=MAGIC, abi=ABI):
    return struct.pack('<IIIii', magic, abi, backend, pid, tid) + bytes(44)


def foreign(k, backend_sel, vector, overlay=b'', size=None):
    b = bytes([k, len(overlay), backend_sel, vector]) + overlay
    if k & 3 == 3:
        b += bytes([size or 0])
    return bytes([FOREIGN]) + b


def desc_seeds():
    s = {}
    # A well-behaved life: notify, wait, notify while awake, poll.
    s['futex-notify-wait'] = bytes([2 | (5 << 2), NOTIFY, WAIT, 50, NOTIFY, WAIT0, POLL, CHECK])
    s['eventfd-arm-drain'] = bytes([1 | 2 | (9 << 2), ARM, NOTIFY, DRAIN, ARM, DRAIN, NOTIFY,
                                    ARM, POLL])
    # The peer corrupts the status word: ON stuck, CLOSED, garbage bits.
    s['status-on-stuck'] = bytes([2, STATUS]) + u32(ON) + bytes([WAIT, 10, NOTIFY, WAIT, 10])
    s['status-closed'] = bytes([2, STATUS]) + u32(CLOSED | SN) + bytes([NOTIFY, CHECK, TX_NEW, 3])
    s['status-garbage'] = bytes([3, STATUS]) + u32(0xfffffff8) + bytes([ARM, NOTIFY, DRAIN,
                                                                        WAIT, 20])
    s['pir-all-ones'] = bytes([0, PIR]) + u64(-1) + bytes([WAIT0, PIR]) + u64(1 << 63) + bytes(
        [POLL, POST, 200, WAIT, 1])
    # The peer rewrites the header line: magic, abi, backend, pid.
    s['header-bad-magic'] = bytes([0, HEADER, 0, 4]) + u32(0x12345678) + bytes([TX_NEW, 1])
    s['header-bad-backend'] = bytes([0, HEADER, 8, 4]) + u32(7) + bytes([TX_NEW, 1, NOTIFY])
    s['header-bad-pid'] = bytes([0, HEADER, 12, 8]) + u32(0) + u32(-1) + bytes([TX_NEW, 2])
    s['tx-bad-vector'] = bytes([0, TX_NEW, 0x80 | 64, TX_NEW, 200, TX_NEW, 63, NOTIFY])
    s['spin-modes'] = bytes([2, SPIN, 0, 10, WAIT, 5, SPIN, 2, 255, WAIT, 5, SPIN, 3, 0,
                             SPIN, 0x80, 0]) + u64(10**9) + bytes([WAIT0])
    # Foreign descriptors, valid and near misses.
    s['foreign-valid-futex'] = foreign(0x08, 0, 4)
    s['foreign-valid-eventfd'] = foreign(0x08 | 0x40, 1, 7)
    s['foreign-eventfd-no-fd'] = foreign(0x08, 1, 7)
    s['foreign-zero-page'] = foreign(0x00, 0, 4)
    s['foreign-unsealed'] = foreign(0x08 | 2, 0, 4)
    s['foreign-shrink-only'] = foreign(0x08 | 1, 0, 4)
    s['foreign-short'] = foreign(0x08 | 3, 0, 4, size=4)
    s['foreign-closed-peer'] = foreign(0x08 | 0x80, 0, 4)
    s['foreign-vector-big'] = bytes([FOREIGN, 0x08 | 0x20, 0, 0]) + u32(64)
    s['foreign-backend-unknown'] = foreign(0x08, 3, 4)
    s['foreign-status-closed'] = foreign(0x08, 0, 4, u32(CLOSED) + bytes(4))
    s['foreign-status-armed'] = foreign(0x08 | 0x40, 1, 4, u32(0) + bytes(12))
    page = u32(0) + bytes(60) + header_line(FUTEX, pid=0x7fffffff, tid=0x7fffffff)
    s['foreign-full-page'] = foreign(0x00, 0, 9, page)
    return s


CAP_MAGIC = 0x70615355
KIND_VECTOR, KIND_CHAN = 1, 2
# fuzz-cap fd kinds
DESC_FUTEX, DESC_EVENTFD, UNSEALED, SHORT, PIPE_R, PIPE_W, EFD, SOCK = range(8)


def cap_msg(kind, payload, nfds, magic=CAP_MAGIC, length=None):
    n = len(payload) if length is None else length
    return struct.pack('<IIII', magic, kind, n, nfds) + payload


def vec(vector, backend):
    return struct.pack('<II', vector, backend)


def cap_input(cfg_extra, kinds, act, msg):
    return bytes([len(kinds) | cfg_extra]) + bytes(kinds) + bytes([act]) + msg


def cap_seeds():
    s = {}
    s['valid-futex'] = cap_input(0, [DESC_FUTEX], 3, cap_msg(KIND_VECTOR, vec(5, FUTEX), 1))
    s['valid-eventfd'] = cap_input(0, [DESC_EVENTFD, EFD], 3,
                                   cap_msg(KIND_VECTOR, vec(5, EVENTFD), 2))
    s['valid-then-peer-dies'] = cap_input(0, [DESC_FUTEX], 0x41,
                                          cap_msg(KIND_VECTOR, vec(0, FUTEX), 1))
    s['eventfd-forced-kicks'] = cap_input(0, [DESC_EVENTFD, EFD], 0x87,
                                          cap_msg(KIND_VECTOR, vec(1, EVENTFD), 2))
    s['eventfd-pipe-kicks'] = cap_input(0, [DESC_EVENTFD, PIPE_W], 0x87,
                                        cap_msg(KIND_VECTOR, vec(1, EVENTFD), 2))
    s['eventfd-socket-kicks'] = cap_input(0, [DESC_EVENTFD, SOCK], 0x87,
                                          cap_msg(KIND_VECTOR, vec(1, EVENTFD), 2))
    s['eventfd-pipe-read'] = cap_input(0, [DESC_EVENTFD, PIPE_R], 0x83,
                                       cap_msg(KIND_VECTOR, vec(1, EVENTFD), 2))
    s['eventfd-missing-fd'] = cap_input(0, [DESC_EVENTFD], 1,
                                        cap_msg(KIND_VECTOR, vec(1, EVENTFD), 1))
    s['creator-dead'] = cap_input(0x08, [DESC_FUTEX], 1, cap_msg(KIND_VECTOR, vec(5, FUTEX), 1))
    s['bad-magic'] = cap_input(0, [DESC_FUTEX], 1,
                               cap_msg(KIND_VECTOR, vec(5, FUTEX), 1, magic=0x70615356))
    s['kind-chan'] = cap_input(0, [DESC_FUTEX], 1, cap_msg(KIND_CHAN, vec(5, FUTEX), 1))
    s['len-lies'] = cap_input(0, [DESC_FUTEX], 1, cap_msg(KIND_VECTOR, vec(5, FUTEX), 1, length=4))
    s['len-huge'] = cap_input(0, [DESC_FUTEX], 1,
                              cap_msg(KIND_VECTOR, vec(5, FUTEX), 1, length=0xffffffff))
    s['nfds-lies'] = cap_input(0, [DESC_FUTEX], 1, cap_msg(KIND_VECTOR, vec(5, FUTEX), 3))
    s['nfds-huge'] = cap_input(0, [DESC_FUTEX], 1,
                               cap_msg(KIND_VECTOR, vec(5, FUTEX), 0xffffffff))
    s['no-fds'] = cap_input(0, [], 1, cap_msg(KIND_VECTOR, vec(5, FUTEX), 0))
    s['four-fds'] = cap_input(0, [DESC_FUTEX, EFD, PIPE_R, SOCK], 1,
                              cap_msg(KIND_VECTOR, vec(5, FUTEX), 4))
    s['vector-64'] = cap_input(0, [DESC_FUTEX], 1, cap_msg(KIND_VECTOR, vec(64, FUTEX), 1))
    s['vector-max'] = cap_input(0, [DESC_FUTEX], 1,
                                cap_msg(KIND_VECTOR, vec(0xffffffff, FUTEX), 1))
    s['backend-mismatch'] = cap_input(0, [DESC_FUTEX], 1,
                                      cap_msg(KIND_VECTOR, vec(5, EVENTFD), 1))
    s['backend-signal'] = cap_input(0, [DESC_FUTEX], 1, cap_msg(KIND_VECTOR, vec(5, SIGNAL), 1))
    s['backend-sim'] = cap_input(0, [DESC_FUTEX], 1, cap_msg(KIND_VECTOR, vec(5, UINTR_SIM), 1))
    s['backend-unknown'] = cap_input(0, [DESC_FUTEX], 1, cap_msg(KIND_VECTOR, vec(5, 99), 1))
    s['unsealed'] = cap_input(0, [UNSEALED], 1, cap_msg(KIND_VECTOR, vec(5, FUTEX), 1))
    s['short-memfd'] = cap_input(0, [SHORT], 1, cap_msg(KIND_VECTOR, vec(5, FUTEX), 1))
    s['pipe-not-memfd'] = cap_input(0, [PIPE_R], 1, cap_msg(KIND_VECTOR, vec(5, FUTEX), 1))
    s['eventfd-not-memfd'] = cap_input(0, [EFD], 1, cap_msg(KIND_VECTOR, vec(5, FUTEX), 1))
    s['truncated-header'] = cap_input(0, [DESC_FUTEX], 1, cap_msg(KIND_VECTOR, b'', 1)[:10])
    s['oversized'] = cap_input(0, [DESC_FUTEX], 1,
                               cap_msg(KIND_VECTOR, vec(5, FUTEX) + bytes(400), 1, length=8))
    s['empty'] = cap_input(0, [], 0, b'')
    # uipc_cap_send()'s format: one tag byte, one fd.
    s['handle-valid'] = cap_input(0, [EFD], 0, b'\x55')
    s['handle-peer-gone'] = cap_input(0x10, [PIPE_R], 0, b'\x55')
    s['handle-bad-tag'] = cap_input(0, [EFD], 0, b'\x56')
    s['handle-two-fds'] = cap_input(0, [EFD, EFD], 0, b'\x55')
    s['handle-no-fd'] = cap_input(0, [], 0, b'\x55')
    s['handle-long'] = cap_input(0, [EFD], 0, b'\x55\x55')
    return s


def write(target, seeds):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, 'seed-' + name), 'wb') as f:
            f.write(data)
    print(f'{target}: {len(seeds)} seeds')


if __name__ == '__main__':
    write('desc', desc_seeds())
    write('cap', cap_seeds())
