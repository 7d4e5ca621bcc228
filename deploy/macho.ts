// The ad-hoc code signature of a 64-bit Mach-O executable: read it, check its page hashes, and
// write a new one. macOS kills an arm64 process whose pages do not match its signature, and a
// signed x86-64 one too once a page fails; `bun build --compile` from Linux leaves Bun's own
// signature on darwin-x64 over bytes it changed. The format written is the linker's
// (CodeDirectory 0x20400, flags adhoc|linker-signed, no special slots), as Bun writes for arm64.
import { createHash } from "node:crypto";

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSSLOT_CODEDIRECTORY = 0;
const CS_ADHOC = 0x2;
const CS_LINKER_SIGNED = 0x20000;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const CS_HASHTYPE_SHA256 = 2;
const PAGE_SHIFT = 12;
const PAGE = 1 << PAGE_SHIFT;
const HASH_SIZE = 32;
const CODE_DIRECTORY_HEADER = 88; // version 0x20400: up to and including execSegFlags

export const CPU_TYPE_X86_64 = 0x01000007;
export const CPU_TYPE_ARM64 = 0x0100000c;

interface Segment {
  /** Offset of the load command in the file. */
  command: number;
  fileoff: number;
  filesize: number;
  vmsize: number;
}

export interface MachO {
  cpuType: number;
  /** MH_EXECUTE is 2. */
  fileType: number;
  text: Segment;
  linkedit: Segment;
  /** Offset of the LC_CODE_SIGNATURE command, and where its data lies. */
  signature: { command: number; dataoff: number; datasize: number } | null;
}

export function parseMachO(file: Buffer): MachO {
  if (file.length < 32 || file.readUInt32LE(0) !== MH_MAGIC_64) throw new Error("not a 64-bit little-endian Mach-O file");
  const ncmds = file.readUInt32LE(16);
  let offset = 32;
  let text: Segment | undefined;
  let linkedit: Segment | undefined;
  let signature: MachO["signature"] = null;
  for (let i = 0; i < ncmds; i++) {
    const cmd = file.readUInt32LE(offset);
    const size = file.readUInt32LE(offset + 4);
    if (cmd === LC_SEGMENT_64) {
      const name = file.subarray(offset + 8, offset + 24).toString("latin1").replace(/\0+$/, "");
      const segment = {
        command: offset,
        vmsize: Number(file.readBigUInt64LE(offset + 32)),
        fileoff: Number(file.readBigUInt64LE(offset + 40)),
        filesize: Number(file.readBigUInt64LE(offset + 48)),
      };
      if (name === "__TEXT") text = segment;
      if (name === "__LINKEDIT") linkedit = segment;
    } else if (cmd === LC_CODE_SIGNATURE) {
      signature = { command: offset, dataoff: file.readUInt32LE(offset + 8), datasize: file.readUInt32LE(offset + 12) };
    }
    offset += size;
  }
  if (!text || !linkedit) throw new Error("Mach-O file without __TEXT or __LINKEDIT segment");
  return { cpuType: file.readInt32LE(4), fileType: file.readUInt32LE(12), text, linkedit, signature };
}

export interface SignatureCheck {
  signed: boolean;
  identifier: string;
  flags: number;
  /** Pages whose SHA-256 differs from the CodeDirectory's slot. */
  badPages: number;
  /** The CodeDirectory covers everything before the signature, and every page matches. */
  valid: boolean;
}

/** Recomputes every page hash of the (first) CodeDirectory, as the kernel does when it pages the file in. */
export function checkSignature(file: Buffer): SignatureCheck {
  const { signature } = parseMachO(file);
  if (!signature) return { signed: false, identifier: "", flags: 0, badPages: 0, valid: false };
  const blob = file.subarray(signature.dataoff, signature.dataoff + signature.datasize);
  if (blob.readUInt32BE(0) !== CSMAGIC_EMBEDDED_SIGNATURE) throw new Error("LC_CODE_SIGNATURE does not point at a signature");
  let directory: Buffer | undefined;
  for (let i = 0; i < blob.readUInt32BE(8); i++) {
    if (blob.readUInt32BE(12 + i * 8) === CSSLOT_CODEDIRECTORY) directory = blob.subarray(blob.readUInt32BE(16 + i * 8));
  }
  if (!directory || directory.readUInt32BE(0) !== CSMAGIC_CODEDIRECTORY) throw new Error("signature without a CodeDirectory");
  const flags = directory.readUInt32BE(12);
  const hashOffset = directory.readUInt32BE(16);
  const identOffset = directory.readUInt32BE(20);
  const slots = directory.readUInt32BE(28);
  const codeLimit = directory.readUInt32BE(32);
  const hashSize = directory[36]!;
  const page = 1 << directory[39]!;
  const identifier = directory.subarray(identOffset, directory.indexOf(0, identOffset)).toString("latin1");
  let badPages = 0;
  for (let slot = 0; slot < slots; slot++) {
    const start = slot * page;
    const digest = createHash(directory[37] === CS_HASHTYPE_SHA256 ? "sha256" : "sha1")
      .update(file.subarray(start, Math.min(start + page, codeLimit)))
      .digest()
      .subarray(0, hashSize);
    if (!digest.equals(directory.subarray(hashOffset + slot * hashSize, hashOffset + (slot + 1) * hashSize))) badPages++;
  }
  const covered = codeLimit === signature.dataoff && slots === Math.ceil(codeLimit / page);
  return { signed: true, identifier, flags, badPages, valid: covered && badPages === 0 };
}

/**
 * A copy of `file` with a fresh ad-hoc signature in place of the one it has, covering every byte
 * before it. The signature stays where LC_CODE_SIGNATURE put it (the end of __LINKEDIT, the end
 * of the file); the command and the segment are resized to the new one.
 */
export function signAdHoc(file: Buffer, identifier: string): Buffer {
  const macho = parseMachO(file);
  if (!macho.signature) throw new Error("Mach-O file without LC_CODE_SIGNATURE (no room reserved for a signature)");
  const codeLimit = macho.signature.dataoff;
  if (macho.linkedit.fileoff + macho.linkedit.filesize !== macho.signature.dataoff + macho.signature.datasize) {
    throw new Error("the code signature is not at the end of __LINKEDIT");
  }
  const slots = Math.ceil(codeLimit / PAGE);
  const ident = Buffer.from(`${identifier}\0`, "latin1");
  const hashOffset = CODE_DIRECTORY_HEADER + ident.length;
  const directoryLength = hashOffset + slots * HASH_SIZE;
  const blobLength = 12 + 8 + directoryLength;

  const out = Buffer.alloc(codeLimit + blobLength);
  file.copy(out, 0, 0, codeLimit);
  // The load commands are inside the signed pages: resize them before hashing.
  out.writeUInt32LE(blobLength, macho.signature.command + 12);
  const linkeditSize = codeLimit + blobLength - macho.linkedit.fileoff;
  out.writeBigUInt64LE(BigInt(linkeditSize), macho.linkedit.command + 48);
  out.writeBigUInt64LE(BigInt(Math.max(macho.linkedit.vmsize, Math.ceil(linkeditSize / PAGE) * PAGE)), macho.linkedit.command + 32);

  let at = codeLimit;
  at = out.writeUInt32BE(CSMAGIC_EMBEDDED_SIGNATURE, at);
  at = out.writeUInt32BE(blobLength, at);
  at = out.writeUInt32BE(1, at);
  at = out.writeUInt32BE(CSSLOT_CODEDIRECTORY, at);
  at = out.writeUInt32BE(20, at);
  const directory = at;
  at = out.writeUInt32BE(CSMAGIC_CODEDIRECTORY, at);
  at = out.writeUInt32BE(directoryLength, at);
  at = out.writeUInt32BE(0x20400, at);
  at = out.writeUInt32BE(CS_ADHOC | CS_LINKER_SIGNED, at);
  at = out.writeUInt32BE(hashOffset, at);
  at = out.writeUInt32BE(CODE_DIRECTORY_HEADER, at); // identOffset
  at = out.writeUInt32BE(0, at); // nSpecialSlots
  at = out.writeUInt32BE(slots, at);
  at = out.writeUInt32BE(codeLimit, at);
  at = out.writeUInt8(HASH_SIZE, at);
  at = out.writeUInt8(CS_HASHTYPE_SHA256, at);
  at = out.writeUInt8(0, at); // platform
  at = out.writeUInt8(PAGE_SHIFT, at);
  at += 4 * 4 + 8; // spare2, scatterOffset, teamOffset, spare3, codeLimit64: zero
  at = out.writeBigUInt64BE(BigInt(macho.text.fileoff), at); // execSegBase
  at = out.writeBigUInt64BE(BigInt(macho.text.filesize), at); // execSegLimit
  at = out.writeBigUInt64BE(BigInt(CS_EXECSEG_MAIN_BINARY), at);
  ident.copy(out, at);
  for (let slot = 0; slot < slots; slot++) {
    const start = slot * PAGE;
    createHash("sha256")
      .update(out.subarray(start, Math.min(start + PAGE, codeLimit)))
      .digest()
      .copy(out, directory + hashOffset + slot * HASH_SIZE);
  }
  return out;
}
