"""Writes the records file the bytes benchmark parses: SIZE bytes (default
50 MB) of records, each a 4-byte big-endian length and a payload of 2 to 80
bytes whose first two bytes are a big-endian u16; deterministic."""
import struct
import sys

path = sys.argv[1]
size = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000_000
out = bytearray()
i = 0
while len(out) < size:
    length = 2 + (i * 7919) % 79
    value = (i * 31337) % 65536
    payload = struct.pack(">H", value) + bytes((i + k) % 256 for k in range(length - 2))
    out += struct.pack(">I", length) + payload
    i += 1
with open(path, "wb") as f:
    f.write(out)
