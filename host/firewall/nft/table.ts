// Tables: the object, its NEWTABLE/DELTABLE payload, and the decoding of a GETTABLE reply.
import {
  NFTA_TABLE_FLAGS,
  NFTA_TABLE_HANDLE,
  NFTA_TABLE_NAME,
  NFTA_TABLE_USE,
  NFTA_TABLE_USERDATA,
  type NftFamily,
} from './constants.ts';
import {
  commentOfUserData,
  commentUserData,
  cstr,
  readBe32,
  readBe64,
  readStr,
  objectPayload,
  readObject,
} from './encode.ts';

export interface Table {
  family: NftFamily;
  name: string;
  comment?: string;
}

export interface ListedTable extends Table {
  handle: bigint;
  flags: number;
  /** number of chains (and other objects) in it */
  use: number;
}

export function encodeTable(t: Table, withData: boolean): Buffer {
  const w = objectPayload(t.family);
  w.attr(NFTA_TABLE_NAME, cstr(t.name));
  if (withData) {
    w.attr(NFTA_TABLE_FLAGS, Buffer.alloc(4));
    if (t.comment !== undefined) w.attr(NFTA_TABLE_USERDATA, commentUserData(t.comment));
  }
  return w.bytes();
}

export function decodeTable(data: Buffer): ListedTable | null {
  const { family, a } = readObject(data);
  const name = readStr(a, NFTA_TABLE_NAME);
  if (!family || name === undefined) return null;
  const t: ListedTable = {
    family,
    name,
    handle: readBe64(a, NFTA_TABLE_HANDLE) ?? 0n,
    flags: readBe32(a, NFTA_TABLE_FLAGS) ?? 0,
    use: readBe32(a, NFTA_TABLE_USE) ?? 0,
  };
  const comment = commentOfUserData(a.get(NFTA_TABLE_USERDATA));
  if (comment !== undefined) t.comment = comment;
  return t;
}
