/** Which of auditflow's search attributes a namespace has, and registering the missing ones. */
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { AUDIT_SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_CLI_TYPES } from '../domain/search-attributes';

const IVT = temporal.api.enums.v1.IndexedValueType;
const WANT: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IVT.INDEXED_VALUE_TYPE_INT,
  DATETIME: IVT.INDEXED_VALUE_TYPE_DATETIME,
};

export interface SearchAttributeCheck {
  present: string[];
  missing: string[];
  /** Registered with another type: must be fixed by hand. */
  wrongType: { name: string; has: string; want: string }[];
}

/** Compares the namespace's custom search attributes with auditflow's. */
export async function checkSearchAttributes(connection: Connection, namespace: string): Promise<SearchAttributeCheck> {
  const res = await connection.operatorService.listSearchAttributes({ namespace });
  const custom = res.customAttributes ?? {};
  const out: SearchAttributeCheck = { present: [], missing: [], wrongType: [] };
  for (const key of AUDIT_SEARCH_ATTRIBUTES) {
    const has = custom[key.name];
    if (has === undefined || has === null) out.missing.push(key.name);
    else if (has !== WANT[key.type])
      out.wrongType.push({ name: key.name, has: IVT[has] ?? String(has), want: key.type });
    else out.present.push(key.name);
  }
  return out;
}

/** Registers the missing attributes. */
export async function registerSearchAttributes(
  connection: Connection,
  namespace: string,
  names: string[],
): Promise<void> {
  const searchAttributes = Object.fromEntries(
    AUDIT_SEARCH_ATTRIBUTES.filter((k) => names.includes(k.name)).map((k) => [k.name, WANT[k.type]!]),
  );
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
}

/** The equivalent `temporal operator search-attribute create` command line. */
export function cliCreateCommand(namespace: string, names: string[]): string {
  const pairs = AUDIT_SEARCH_ATTRIBUTES.filter((k) => names.includes(k.name)).map(
    (k) => `--name ${k.name} --type ${SEARCH_ATTRIBUTE_CLI_TYPES[k.type]}`,
  );
  return `temporal operator search-attribute create --namespace ${namespace} ${pairs.join(' ')}`;
}
