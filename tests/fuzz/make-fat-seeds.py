#!/usr/bin/env python3
"""Writes the seed corpus of the fat_volume fuzz target (tests/fuzz/corpus/fat_volume/).

A developer tool, run by hand when the target's input format changes (the
build and the tests never run it; the corpus it wrote is checked in):

    python3 tests/fuzz/make-fat-seeds.py

Each seed is a real image made by mkfs.fat (dosfstools) and filled by mtools,
in the target's sparse form (tests/fuzz/fat_volume.cpp): a u32 size in
sectors, then (u32 sector number, 512 bytes) for every sector that is not
all zeros.
"""
import os
import random
import struct
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus", "fat_volume")
SECTOR = 512
ENV = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin", MTOOLS_SKIP_CHECK="1")


def run(*command):
    subprocess.run(command, check=True, env=ENV, stdout=subprocess.DEVNULL)


def sparse(image):
    with open(image, "rb") as f:
        data = f.read()
    out = bytearray(struct.pack("<I", len(data) // SECTOR))
    for number in range(len(data) // SECTOR):
        sector = data[number * SECTOR:(number + 1) * SECTOR]
        if any(sector):
            out += struct.pack("<I", number) + sector
    return bytes(out)


def seed(name, mkfs_options, kib, fill):
    with tempfile.TemporaryDirectory() as folder:
        image = os.path.join(folder, "disk.img")
        run("mkfs.fat", *mkfs_options, "-C", image, str(kib))
        if fill:
            files = {
                "README.TXT": b"Herald's FAT fuzz seed\n",
                "data.bin": random.Random(1).randbytes(3000),
                "A long name.text": b"long names are read\n",
            }
            for file_name, content in files.items():
                path = os.path.join(folder, "file")
                with open(path, "wb") as f:
                    f.write(content)
                run("mcopy", "-i", image, path, "::" + file_name)
            run("mmd", "-i", image, "::sub")
            run("mcopy", "-i", image, os.path.join(folder, "file"), "::sub/INNER.TXT")
        os.makedirs(CORPUS, exist_ok=True)
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(sparse(image))


seed("fat32-files", ["-F", "32", "-s", "1", "-i", "12345678"], 40960, True)
seed("fat32-empty", ["-F", "32", "-s", "1", "-i", "12345678"], 40960, False)
seed("fat16-files", ["-F", "16", "-s", "2", "-i", "12345678"], 8192, True)
