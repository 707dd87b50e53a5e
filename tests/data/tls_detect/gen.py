#!/usr/bin/env python3
"""Writes the small synthetic ELF files of tests/data/tls_detect/ (unit-test
fixtures of tests/unit/test_tls_detect.c and seeds of
tests/fuzz/fuzz_tls_detect.c).  Each one carries exactly the evidence one
detection rule looks at: exported/defined functions, section names, marker
strings in loaded data, a trailer at the end of the file.  Deterministic:
running it again rewrites identical files.

Layout of every file: headers, PT_INTERP string, .dynamic, loaded read-only
data (.rodata and named sections) in a PT_LOAD R segment, .text in a PT_LOAD
R+X segment, then symbol and string tables and the section headers (not
loaded), then an optional tail.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

ET_EXEC, ET_DYN = 2, 3
EM_X86_64, EM_386 = 62, 3
PT_LOAD, PT_DYNAMIC, PT_INTERP = 1, 2, 3
PF_X, PF_R = 1, 4
SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_DYNAMIC, SHT_DYNSYM = 1, 2, 3, 6, 11
SHF_ALLOC, SHF_EXECINSTR = 2, 4
DT_NULL, DT_NEEDED, DT_FLAGS_1 = 0, 1, 0x6ffffffb
DF_1_PIE = 0x08000000
STB_GLOBAL, STT_FUNC = 1, 2
INTERP = b"/lib64/ld-linux-x86-64.so.2\0"


class Strtab:
    def __init__(self):
        self.data = b"\0"

    def add(self, s):
        off = len(self.data)
        self.data += s.encode() + b"\0"
        return off


def align(n, a=16):
    return (n + a - 1) // a * a


def elf(etype=ET_EXEC, interp=False, pie=False, needed=(), dynsym=(), symtab=(), rodata=b"",
        sections=(), tail=b"", no_sections=False, machine=EM_X86_64):
    """sections: (name, bytes) loaded read-only; dynsym/symtab: function names."""
    n_ph = 2 + (1 if interp else 0) + (1 if (needed or pie) else 0)
    off = align(64 + 56 * n_ph)
    interp_off = off
    if interp:
        off = align(off + len(INTERP))
    dynstr = Strtab()
    dyn_entries = [(DT_NEEDED, dynstr.add(n)) for n in needed]
    if pie:
        dyn_entries.append((DT_FLAGS_1, DF_1_PIE))
    dyn_off, dyn = off, b""
    if dyn_entries:
        dyn = b"".join(struct.pack("<qQ", t, v) for t, v in dyn_entries + [(DT_NULL, 0)])
        off = align(off + len(dyn))
    rodata_off = off
    off = align(off + len(rodata))
    named = []
    for name, data in sections:
        named.append((name, off, data))
        off = align(off + len(data))
    text_off = align(off, 64)
    n_funcs = len(dynsym) + len(symtab)
    text = b"\xc3" * (16 * max(n_funcs, 1))
    off = text_off + len(text)

    def syms(names, strtab, first):
        out = b"\0" * 24
        for i, n in enumerate(names):
            out += struct.pack("<IBBHQQ", strtab.add(n), (STB_GLOBAL << 4) | STT_FUNC, 0,
                               1, text_off + 16 * (first + i), 16)
        return out

    strtab = Strtab()
    dynsym_data = syms(dynsym, dynstr, 0) if dynsym else b""
    symtab_data = syms(symtab, strtab, len(dynsym)) if symtab else b""
    # section list: (name, type, flags, offset, data, link, entsize)
    secs = [(".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, text_off, text, 0, 0)]
    if rodata:
        secs.append((".rodata", SHT_PROGBITS, SHF_ALLOC, rodata_off, rodata, 0, 0))
    for name, o, data in named:
        secs.append((name, SHT_PROGBITS, SHF_ALLOC, o, data, 0, 0))
    body = {}
    if dynsym or dyn_entries:
        dynstr_idx = len(secs) + 1 + (1 if dynsym else 0) + (1 if dyn_entries else 0)
        if dynsym:
            secs.append((".dynsym", SHT_DYNSYM, SHF_ALLOC, None, dynsym_data, dynstr_idx, 24))
        if dyn_entries:
            secs.append((".dynamic", SHT_DYNAMIC, SHF_ALLOC, dyn_off, dyn, dynstr_idx, 16))
        secs.append((".dynstr", SHT_STRTAB, SHF_ALLOC, None, dynstr.data, 0, 0))
    if symtab:
        secs.append((".symtab", SHT_SYMTAB, 0, None, symtab_data, len(secs) + 2, 24))
        secs.append((".strtab", SHT_STRTAB, 0, None, strtab.data, 0, 0))
    shstr = Strtab()
    names = [shstr.add(s[0]) for s in secs]
    shstr_name = shstr.add(".shstrtab")
    placed = []
    for s, nm in zip(secs, names):
        o = s[3]
        if o is None:
            o = align(off, 8)
            body[o] = s[4]
            off = o + len(s[4])
        placed.append((nm, s[1], s[2], o, len(s[4]), s[5], s[6]))
    shstr_off = off
    body[shstr_off] = shstr.data
    off = align(off + len(shstr.data), 8)
    shoff = off
    shdrs = struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    for nm, typ, flags, o, size, link, ent in placed:
        info = 1 if typ in (SHT_SYMTAB, SHT_DYNSYM) else 0
        shdrs += struct.pack("<IIQQQQIIQQ", nm, typ, flags, o if flags & SHF_ALLOC else 0, o,
                             size, link, info, 8, ent)
    shdrs += struct.pack("<IIQQQQIIQQ", shstr_name, SHT_STRTAB, 0, 0, shstr_off,
                         len(shstr.data), 0, 0, 1, 0)
    shnum, shstrndx = len(placed) + 2, len(placed) + 1
    if no_sections:
        shoff = shnum = shstrndx = 0
        shdrs = b""
    phdrs = b""
    if interp:
        phdrs += struct.pack("<IIQQQQQQ", PT_INTERP, PF_R, interp_off, interp_off, interp_off,
                             len(INTERP), len(INTERP), 1)
    phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, PF_R, 0, 0, 0, text_off, text_off, 16)
    phdrs += struct.pack("<IIQQQQQQ", PT_LOAD, PF_R | PF_X, text_off, text_off, text_off,
                         len(text), len(text), 16)
    if dyn_entries:
        phdrs += struct.pack("<IIQQQQQQ", PT_DYNAMIC, PF_R, dyn_off, dyn_off, dyn_off, len(dyn),
                             len(dyn), 8)
    ident = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", etype, machine, 1, text_off, 64, shoff, 0, 64,
                               56, n_ph, 64, shnum, shstrndx)
    img = bytearray(shoff + len(shdrs) if shdrs else off)
    img[0:64] = ehdr
    img[64:64 + len(phdrs)] = phdrs
    if interp:
        img[interp_off:interp_off + len(INTERP)] = INTERP
    img[dyn_off:dyn_off + len(dyn)] = dyn
    img[rodata_off:rodata_off + len(rodata)] = rodata
    for _, o, data in named:
        img[o:o + len(data)] = data
    img[text_off:text_off + len(text)] = text
    for o, data in body.items():
        img[o:o + len(data)] = data
    if shdrs:
        img[shoff:shoff + len(shdrs)] = shdrs
    return bytes(img) + tail


BUN_TRAILER = b"\n---- Bun! ----\n"
GO_TLS = [b"crypto/tls.(*Conn).Write", b"crypto/tls.(*Conn).Read"]
# not a parsable pclntab: only the function names, as the marker scan sees them
PCLNTAB_NAMES = b"\xf1\xff\xff\xff\0\0\x01\x08" + b"\0".join(
    [b"runtime.main", b"net/http.(*Client).Do"] + GO_TLS) + b"\0"

FILES = {
    "openssl_lib.so": elf(ET_DYN, dynsym=["SSL_write", "SSL_read", "SSL_write_ex", "SSL_free"]),
    "boringssl_lib.so": elf(ET_DYN, dynsym=["SSL_write", "SSL_read",
                                            "SSL_CTX_set_grease_enabled"]),
    "boringssl_exe": elf(ET_EXEC, interp=True, symtab=["main", "SSL_write", "SSL_read",
                                                       "BORINGSSL_self_test"]),
    "node_like": elf(ET_DYN, interp=True, dynsym=["SSL_write", "SSL_read",
                                                  "_ZN4node5StartEiPPc", "napi_module_register"]),
    "libnode_like.so": elf(ET_DYN, dynsym=["_ZN4node5StartEiPPc", "napi_module_register"],
                           needed=["libssl.so.3"]),
    "gnutls.so": elf(ET_DYN, dynsym=["gnutls_record_send", "gnutls_record_recv"]),
    "go_symbols": elf(ET_EXEC, symtab=["runtime.main"] + [s.decode() for s in GO_TLS],
                      sections=[(".go.buildinfo", b"\xff Go buildinf:\x08\x02"),
                                (".gopclntab", b"\xf1\xff\xff\xff")]),
    "go_stripped": elf(ET_EXEC, sections=[(".go.buildinfo", b"\xff Go buildinf:\x08\x02"),
                                          (".gopclntab", PCLNTAB_NAMES)]),
    "go_stripped_no_tls": elf(ET_EXEC, sections=[(".gopclntab", b"\xf1\xff\xff\xff\0\0\x01\x08"
                                                  b"runtime.main\0")]),
    "go_no_sections": elf(ET_EXEC, rodata=b"\xff Go buildinf:\x08\x02" + PCLNTAB_NAMES,
                          no_sections=True),
    "nss_libssl3.so": elf(ET_DYN, dynsym=["SSL_ImportFD", "SSL_ForceHandshake"]),
    "nss_libnss3.so": elf(ET_DYN, dynsym=["NSS_Init", "NSS_Shutdown"]),
    "nspr_libnspr4.so": elf(ET_DYN, dynsym=["PR_Write", "PR_Read"]),
    "rustls_symbols": elf(ET_DYN, pie=True, interp=True, symtab=[
        "main", "_ZN6rustls4conn10connection6Writer5write17h0123456789abcdefE"]),
    "rustls_stripped": elf(ET_EXEC, rodata=b"called `Option::unwrap()`\0/root/.cargo/registry/"
                           b"src/index.crates.io-6f17d22bba15001f/rustls-0.23.12/src/conn.rs\0"),
    "jvm_libjvm.so": elf(ET_DYN, dynsym=["JNI_CreateJavaVM", "JVM_GC"]),
    "jvm_libjli.so": elf(ET_DYN, dynsym=["JLI_Launch"]),
    "bun_section": elf(ET_DYN, interp=True, dynsym=["napi_module_register"],
                       sections=[(".bun", b"\0" * 8)]),
    "bun_trailer": elf(ET_EXEC, interp=True, tail=b"// bundled js\n" + b"\0" * 32 + BUN_TRAILER
                       + struct.pack("<Q", 4096)),
    # the constant in .rodata, more than 4 KiB from the end: only the scan sees it
    "bun_rodata": elf(ET_EXEC, interp=True, rodata=b"standalone module graph" + BUN_TRAILER,
                      tail=b"\0" * 5000),
    "boringssl_stripped": elf(ET_EXEC, rodata=b"x\0BoringSSL\0"),
    "boringssl_compat_text": elf(ET_EXEC, rodata=b"v\0OpenSSL 1.1.1 (compatible; BoringSSL)\0"),
    "boringssl_paths": elf(ET_EXEC, rodata=b"../../third_party/boringssl/src/ssl/ssl_lib.cc\0"),
    # a C function and a message merely naming rustls: no rustls crate
    "c_rustls_name": elf(ET_EXEC, symtab=["main", "rustls_cb"],
                         rodata=b"static BoringSSL (stripped)\0rustls\0"),
    "openssl_stripped": elf(ET_EXEC, rodata=b"y\0OpenSSL 3.0.13 30 Jan 2024\0"),
    "openssl_cli": elf(ET_DYN, interp=True, needed=["libssl.so.3", "libc.so.6"],
                       rodata=b"OpenSSL 3.0.13 30 Jan 2024\0"),
    "libcrypto_like.so": elf(ET_DYN, dynsym=["OpenSSL_version_num", "EVP_EncryptInit"],
                             rodata=b"OpenSSL 3.0.13 30 Jan 2024\0"),
    "static_plain": elf(ET_EXEC, rodata=b"hello, world\0"),
    "static_pie": elf(ET_DYN, pie=True, rodata=b"hello\0"),
    "elf32": elf(ET_EXEC, machine=EM_386)[:4] + b"\x01" + elf(ET_EXEC)[5:],
    "not_elf.txt": b"#!/bin/sh\necho SSL_write\n",
}


def main():
    for name, data in FILES.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
