// The ABI of build/core.wasm: plain numbers and offsets into the exported memory. See README.md.
export { scratch, memAlloc as mem_alloc, memFree as mem_free } from './mem';
export {
  ip_parse, ip_format, ip_next, ip_prev, ip_cmp, ip_canon,
  cidr_parse, cidr_network, cidr_last, cidr_mask, cidr_host_bits, cidr_contains, cidr_overlaps, cidr_nth,
  contains_batch_v4,
} from './cidr';
export { range_canon, range_contains, range_overlaps, rangeset_check, rangesets_overlap, range_layout } from './range';
export {
  alloc_new, alloc_delete, alloc_count, alloc_clear, alloc_next, alloc_many, alloc_reserve, alloc_release,
  alloc_is_reserved, alloc_range_of, alloc_load, alloc_release_packed,
} from './allocator';
export { ncidr_new, ncidr_delete, ncidr_capacity, ncidr_allocated, ncidr_alloc, ncidr_mark } from './nodecidr';
export { quantity_parse, tbf_compute, psched_tick } from './bandwidth';
export { mtu_pick, ovh_vxlan, ovh_geneve, ovh_wireguard, ovh_esp } from './mtu';
