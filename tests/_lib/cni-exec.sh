#!/usr/bin/env bash
# A second, independent implementation of how a runtime calls CNI plugins (libcni: containernetworking/cni
# v1.1 libcni/api.go, AddNetworkList/CheckNetworkList/DelNetworkList and buildOneConfig/injectRuntimeConfig),
# written in bash and jq so that the TypeScript harness (tests/_lib/oracle.ts) and our runtime can be checked
# against something that shares no code with them.
#
#   cni-exec.sh ADD|CHECK|DEL NETNS CONTAINERID IFNAME CONFFILE [CAPABILITY_ARGS_JSON]
#
# NETNS: a name under /var/run/netns, an absolute path, or "" (none). CONFFILE: a single-plugin .conf or a
# .conflist. Environment: CNI_PATH (plugin directories, default /usr/lib/cni), CNI_ARGS (passed through),
# CNI_CACHE_DIR (the result cache, default /var/lib/cni/results).
#
# What each plugin gets, as libcni does it:
#   - its own config object with the network's `name` and `cniVersion` set;
#   - `runtimeConfig` made of the capability args whose key it declares true under `capabilities` (replacing a
#     runtimeConfig written in the file), left alone when none applies;
#   - ADD: in list order, `prevResult` = the previous plugin's output; the last output is printed and cached in
#     $CNI_CACHE_DIR/<network>-<containerid>-<ifname> as {kind: "cniCacheV1", ...};
#   - CHECK (cniVersion >= 0.4.0): in list order, `prevResult` = the cached result;
#   - DEL: in reverse order, `prevResult` = the cached result when cniVersion >= 0.4.0 and one is cached; the
#     first failure stops the walk; the cache entry is removed at the end.
# A failing plugin's stdout (its error JSON) and stderr go to our stderr; we exit with its exit code.
set -euo pipefail

fail() {
  echo "cni-exec.sh: $*" >&2
  exit 2
}

[ $# -ge 5 ] || fail "usage: cni-exec.sh ADD|CHECK|DEL NETNS CONTAINERID IFNAME CONFFILE [CAPABILITY_ARGS_JSON]"
command=$1
netns=$2
container_id=$3
if_name=$4
conf_file=$5
capability_args=${6:-'{}'}
[ -n "$capability_args" ] || capability_args='{}'
plugin_path=${CNI_PATH:-/usr/lib/cni}
cache_dir=${CNI_CACHE_DIR:-/var/lib/cni/results}

case $netns in
  '' | /*) netns_path=$netns ;;
  *) netns_path=/var/run/netns/$netns ;;
esac

network=$(jq -e -c . "$conf_file") || fail "$conf_file: not JSON"
jq -e . >/dev/null <<<"$capability_args" || fail "capability args: not JSON"
name=$(jq -r '.name // empty' <<<"$network")
[ -n "$name" ] || fail "$conf_file: no network name"
version=$(jq -r '.cniVersion // "0.1.0"' <<<"$network")
# One plugin config per line: a .conflist's list, or the .conf itself.
mapfile -t plugins < <(jq -c 'if has("plugins") then .plugins[] else . end' <<<"$network")
cache_file=$cache_dir/$name-$container_id-$if_name

# version_at_least A B: A >= B for dotted numeric versions.
version_at_least() {
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -t. -k1,1n -k2,2n -k3,3n | head -n1)" = "$2" ]
}

# config_for PLUGIN_JSON PREV_RESULT_JSON_OR_null: the stdin one plugin gets.
config_for() {
  jq -c --arg name "$name" --arg version "$version" --argjson caps "$capability_args" --argjson prev "$2" '
    . + {name: $name, cniVersion: $version}
    | if $prev == null then . else . + {prevResult: $prev} end
    | [(.capabilities // {}) | to_entries[] | select(.value == true and $caps[.key] != null) | .key] as $wanted
    | if ($wanted | length) == 0 then . else . + {runtimeConfig: ($wanted | map({(.): $caps[.]}) | add)} end
  ' <<<"$1"
}

# call COMMAND STDIN_JSON: runs the plugin named by the config's type; its stdout ends up in $output.
output=''
call() {
  local type binary dir status
  type=$(jq -r '.type' <<<"$2")
  binary=''
  IFS=: read -r -a dirs <<<"$plugin_path"
  for dir in "${dirs[@]}"; do
    if [ -n "$dir" ] && [ -x "$dir/$type" ]; then
      binary=$dir/$type
      break
    fi
  done
  if [ -z "$binary" ]; then
    printf '{"code":1,"msg":"failed to find plugin \\"%s\\" in path %s"}\n' "$type" "$plugin_path" >&2
    return 1
  fi
  status=0
  output=$(CNI_COMMAND=$1 CNI_CONTAINERID=$container_id CNI_NETNS=$netns_path CNI_IFNAME=$if_name \
    CNI_PATH=$plugin_path CNI_ARGS=${CNI_ARGS:-} "$binary" <<<"$2") || status=$?
  if [ "$status" -ne 0 ]; then
    printf '%s\n' "$output" >&2
  fi
  return "$status"
}

cached_result() {
  if [ -f "$cache_file" ]; then jq -c '.result' "$cache_file"; else echo null; fi
}

case $command in
  ADD)
    previous=null
    for plugin in "${plugins[@]}"; do
      call ADD "$(config_for "$plugin" "$previous")" || exit $?
      previous=$(jq -c . <<<"$output")
    done
    mkdir -p "$cache_dir"
    jq -n -c --arg cid "$container_id" --arg ifname "$if_name" --arg net "$name" --arg args "${CNI_ARGS:-}" \
      --arg config "$(base64 -w0 <"$conf_file")" --argjson caps "$capability_args" --argjson result "$previous" \
      '{kind: "cniCacheV1", containerId: $cid, config: $config, ifName: $ifname, networkName: $net,
        cniArgs: $args, capabilityArgs: $caps, result: $result}' >"$cache_file"
    jq . <<<"$previous"
    ;;
  CHECK)
    version_at_least "$version" 0.4.0 || fail "CHECK needs cniVersion 0.4.0 or later"
    [ -f "$cache_file" ] || fail "no cached result for $name/$container_id/$if_name"
    previous=$(cached_result)
    for plugin in "${plugins[@]}"; do
      call CHECK "$(config_for "$plugin" "$previous")" || exit $?
    done
    ;;
  DEL)
    previous=null
    if version_at_least "$version" 0.4.0; then previous=$(cached_result); fi
    for ((i = ${#plugins[@]} - 1; i >= 0; i--)); do
      call DEL "$(config_for "${plugins[$i]}" "$previous")" || exit $?
    done
    rm -f "$cache_file"
    ;;
  *) fail "unknown command $command (ADD, CHECK or DEL)" ;;
esac
