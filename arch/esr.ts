// ESR_ELx field layout and encodings (Arm ARM D19.2.x), shared by the oracle,
// the simulator and the diff printer. Encodings only: no KVM policy here.

// Names as in arch/arm64/include/asm/esr.h.
export const ESR_ELx_EC_SHIFT = 26n;
export const ESR_ELx_IL = 1n << 25n;
export const ESR_ELx_ISS_MASK = (1n << 25n) - 1n;
export const ESR_ELx_ISS2_SHIFT = 32n;

/** Exception classes for aborts: instruction and data, from a lower EL or the current one. */
export const ESR_ELx_EC_IABT_LOW = 0x20n,
  ESR_ELx_EC_IABT_CUR = 0x21n,
  ESR_ELx_EC_DABT_LOW = 0x24n,
  ESR_ELx_EC_DABT_CUR = 0x25n;

/** Fault status codes (DFSC/IFSC): the field, its type without the level, and the level-0 codes. */
export const ESR_ELx_FSC = 0x3fn,
  ESR_ELx_FSC_TYPE = 0x3cn;
export const ESR_ELx_FSC_ADDRSZ = 0x00n,
  ESR_ELx_FSC_FAULT = 0x04n,
  ESR_ELx_FSC_ACCESS = 0x08n,
  ESR_ELx_FSC_PERM = 0x0cn,
  ESR_ELx_FSC_EXTABT = 0x10n;

/** Data abort ISS: ISV, SAS, SSE, SRT, SF, AR (syndrome valid and what it says) ... */
export const ESR_ELx_ISV = 1n << 24n,
  ESR_ELx_SAS_SHIFT = 22n,
  ESR_ELx_SSE = 1n << 21n,
  ESR_ELx_SRT_SHIFT = 16n,
  ESR_ELx_SF = 1n << 15n,
  ESR_ELx_AR = 1n << 14n;
/** ... and FnV, EA, CM, S1PTW, WnR. */
export const ESR_ELx_FnV = 1n << 10n,
  ESR_ELx_EA = 1n << 9n,
  ESR_ELx_CM = 1n << 8n,
  ESR_ELx_S1PTW = 1n << 7n,
  ESR_ELx_WNR = 1n << 6n;

/** ESR_ELx_EC(esr) */
export function ec(esr: bigint): bigint {
  return (esr >> ESR_ELx_EC_SHIFT) & 0x3fn;
}

const EC_NAMES: Record<string, string> = {
  [String(ESR_ELx_EC_IABT_LOW)]: 'IABT_LOW',
  [String(ESR_ELx_EC_IABT_CUR)]: 'IABT_CUR',
  [String(ESR_ELx_EC_DABT_LOW)]: 'DABT_LOW',
  [String(ESR_ELx_EC_DABT_CUR)]: 'DABT_CUR',
};

export function fscName(fsc: bigint): string {
  const f = Number(fsc);
  if (f <= 3) return `address size fault, level ${f}`;
  if (f <= 7) return `translation fault, level ${f - 4}`;
  if (f >= 8 && f <= 0xb) return `access flag fault, level ${f - 8}`;
  if (f >= 0xc && f <= 0xf) return `permission fault, level ${f - 12}`;
  if (f === 0x10) return 'synchronous external abort';
  if (f === 0x29) return 'address size fault, level -1';
  if (f === 0x2b) return 'translation fault, level -1';
  return `FSC 0x${f.toString(16)}`;
}

/** Decoded view of an ESR_ELx value for diffs: every field, named. */
export interface EsrFields {
  EC: string;
  IL: number;
  ISS: string;
  ISV: number;
  SAS: number;
  SSE: number;
  SRT: number;
  SF: number;
  AR: number;
  FnV: number;
  EA: number;
  CM: number;
  S1PTW: number;
  WnR: number;
  FSC: string;
  ISS2: string;
  RES0_63_56: string;
}

export function decodeEsr(esr: bigint): EsrFields {
  const e = ec(esr);
  const iss = esr & ESR_ELx_ISS_MASK;
  const bit = (m: bigint): number => ((iss & m) !== 0n ? 1 : 0);
  const fsc = iss & ESR_ELx_FSC;
  return {
    EC: `0x${e.toString(16)} (${EC_NAMES[String(e)] ?? 'other'})`,
    IL: (esr & ESR_ELx_IL) !== 0n ? 1 : 0,
    ISS: `0x${iss.toString(16)}`,
    ISV: bit(ESR_ELx_ISV),
    SAS: Number((iss >> ESR_ELx_SAS_SHIFT) & 3n),
    SSE: bit(ESR_ELx_SSE),
    SRT: Number((iss >> ESR_ELx_SRT_SHIFT) & 0x1fn),
    SF: bit(ESR_ELx_SF),
    AR: bit(ESR_ELx_AR),
    FnV: bit(ESR_ELx_FnV),
    EA: bit(ESR_ELx_EA),
    CM: bit(ESR_ELx_CM),
    S1PTW: bit(ESR_ELx_S1PTW),
    WnR: bit(ESR_ELx_WNR),
    FSC: `0x${fsc.toString(16)} (${fscName(fsc)})`,
    ISS2: `0x${((esr >> ESR_ELx_ISS2_SHIFT) & 0xffffffn).toString(16)}`,
    RES0_63_56: `0x${(esr >> 56n).toString(16)}`,
  };
}

/** Decoded AArch32 DFSR/IFSR (long-descriptor when LPAE, bit 9, is set). */
export function decodeFsr32(fsr: bigint): Record<string, string | number> {
  const lpae = (fsr >> 9n) & 1n;
  const status = lpae ? fsr & 0x3fn : (fsr & 0xfn) | (((fsr >> 10n) & 1n) << 4n);
  return {
    LPAE: Number(lpae),
    STATUS: `0x${status.toString(16)}`,
    WnR: Number((fsr >> 11n) & 1n),
    ExT: Number((fsr >> 12n) & 1n),
    CM: Number((fsr >> 13n) & 1n),
  };
}

/** AArch64 vectors are 0x80-aligned; AArch32 abort vectors (0x0c, 0x10) are not. */
export function isAArch32Vector(vector: number): boolean {
  return vector % 0x80 !== 0;
}
