// What an executable is, read from its headers: ELF (Linux), PE32+ (Windows), Mach-O (macOS).
// For the release binaries that cannot run here, this is what can be checked.
import { CPU_TYPE_ARM64, CPU_TYPE_X86_64, checkSignature, parseMachO, type SignatureCheck } from "../../deploy/macho.ts";

export interface ExecutableFormat {
  format: "ELF" | "PE32+" | "Mach-O";
  arch: "x64" | "arm64" | "other";
  /** ELF: the program interpreter; PE: the subsystem ("console"); Mach-O: the file type ("execute"). */
  kind: string;
  /** PE: section names; Mach-O: not read; ELF: not read. */
  sections: string[];
  /** PE: whether a certificate table (an Authenticode signature) is present. */
  certificate: boolean;
  /** Mach-O: the code signature and whether every page matches it. */
  signature?: SignatureCheck;
}

const ELF_MACHINE: Record<number, ExecutableFormat["arch"]> = { 62: "x64", 183: "arm64" };
const PE_MACHINE: Record<number, ExecutableFormat["arch"]> = { 0x8664: "x64", 0xaa64: "arm64" };

export function readExecutableFormat(file: Buffer): ExecutableFormat {
  if (file.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
    if (file[4] !== 2 || file[5] !== 1) throw new Error("ELF but not 64-bit little-endian");
    const phoff = Number(file.readBigUInt64LE(32));
    const phentsize = file.readUInt16LE(54);
    let interpreter = "";
    for (let i = 0; i < file.readUInt16LE(56); i++) {
      const ph = phoff + i * phentsize;
      if (file.readUInt32LE(ph) !== 3) continue; // PT_INTERP
      const offset = Number(file.readBigUInt64LE(ph + 8));
      interpreter = file.subarray(offset, offset + Number(file.readBigUInt64LE(ph + 32)) - 1).toString("latin1");
    }
    return { format: "ELF", arch: ELF_MACHINE[file.readUInt16LE(18)] ?? "other", kind: interpreter, sections: [], certificate: false };
  }
  if (file.toString("latin1", 0, 2) === "MZ") {
    const pe = file.readUInt32LE(0x3c);
    if (file.toString("latin1", pe, pe + 4) !== "PE\0\0") throw new Error("MZ header without a PE signature");
    const sectionCount = file.readUInt16LE(pe + 6);
    const optional = pe + 24;
    if (file.readUInt16LE(optional) !== 0x20b) throw new Error("PE but not PE32+");
    const subsystem = file.readUInt16LE(optional + 68);
    const certificateEntry = optional + 112 + 4 * 8; // data directory 4: the certificate table
    const sectionTable = optional + file.readUInt16LE(pe + 20);
    const sections = Array.from({ length: sectionCount }, (_, i) =>
      file.toString("latin1", sectionTable + i * 40, sectionTable + i * 40 + 8).replace(/\0+$/, ""),
    );
    return {
      format: "PE32+",
      arch: PE_MACHINE[file.readUInt16LE(pe + 4)] ?? "other",
      kind: subsystem === 3 ? "console" : subsystem === 2 ? "gui" : `subsystem ${subsystem}`,
      sections,
      certificate: file.readUInt32LE(certificateEntry + 4) !== 0,
    };
  }
  const macho = parseMachO(file); // throws for anything else
  const arch = macho.cpuType === CPU_TYPE_X86_64 ? "x64" : macho.cpuType === CPU_TYPE_ARM64 ? "arm64" : "other";
  return { format: "Mach-O", arch, kind: macho.fileType === 2 ? "execute" : `file type ${macho.fileType}`, sections: [], certificate: false, signature: checkSignature(file) };
}
