// ESR_ELx field layout and encodings (Arm ARM D19.2.x), shared by the oracle,
// the simulator and the diff printer. Encodings only: no KVM policy here.

export const EC_SHIFT = 26n;
export const IL_BIT = 1n << 25n;
export const ISS_MASK = (1n << 25n) - 1n;
export const ISS2_SHIFT = 32n;

/** Exception classes for aborts. */
export const EC = {
  IABT_LOW: 0x20n,
  IABT_CUR: 0x21n,
  DABT_LOW: 0x24n,
  DABT_CUR: 0x25n,
} as const;

/** Fault status codes (DFSC/IFSC, bits [5:0]). */
export const FSC = {
  ADDRSZ_L0: 0x00n,
  ADDRSZ_L1: 0x01n,
  ADDRSZ_L2: 0x02n,
  ADDRSZ_L3: 0x03n,
  TRANS_L0: 0x04n,
  TRANS_L1: 0x05n,
  TRANS_L2: 0x06n,
  TRANS_L3: 0x07n,
  ACCESS_L1: 0x09n,
  PERM_L1: 0x0dn,
  EXTABT: 0x10n,
  ADDRSZ_LM1: 0x29n,
  TRANS_LM1: 0x2bn,
} as const;

/** Data abort ISS bits. */
export const DABT = {
  ISV: 1n << 24n,
  SAS_SHIFT: 22n,
  SSE: 1n << 21n,
  SRT_SHIFT: 16n,
  SF: 1n << 15n,
  AR: 1n << 14n,
  FNV: 1n << 10n,
  EA: 1n << 9n,
  CM: 1n << 8n,
  S1PTW: 1n << 7n,
  WNR: 1n << 6n,
} as const;

export const FSC_MASK = 0x3fn;

export function ec(esr: bigint): bigint {
  return (esr >> EC_SHIFT) & 0x3fn;
}

const EC_NAMES: Record<string, string> = {
  '32': 'IABT_LOW',
  '33': 'IABT_CUR',
  '36': 'DABT_LOW',
  '37': 'DABT_CUR',
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
  const iss = esr & ISS_MASK;
  const bit = (m: bigint): number => ((iss & m) !== 0n ? 1 : 0);
  const fsc = iss & FSC_MASK;
  return {
    EC: `0x${e.toString(16)} (${EC_NAMES[String(e)] ?? 'other'})`,
    IL: (esr & IL_BIT) !== 0n ? 1 : 0,
    ISS: `0x${iss.toString(16)}`,
    ISV: bit(DABT.ISV),
    SAS: Number((iss >> DABT.SAS_SHIFT) & 3n),
    SSE: bit(DABT.SSE),
    SRT: Number((iss >> DABT.SRT_SHIFT) & 0x1fn),
    SF: bit(DABT.SF),
    AR: bit(DABT.AR),
    FnV: bit(DABT.FNV),
    EA: bit(DABT.EA),
    CM: bit(DABT.CM),
    S1PTW: bit(DABT.S1PTW),
    WnR: bit(DABT.WNR),
    FSC: `0x${fsc.toString(16)} (${fscName(fsc)})`,
    ISS2: `0x${((esr >> ISS2_SHIFT) & 0xffffffn).toString(16)}`,
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
