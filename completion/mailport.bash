# bash completion for mailport(1): commands, each command's options, endpoint
# URL schemes, and file names after a local scheme (maildir:, mbox:, targz:,
# targz-series:, imap-backup:). Self-contained: needs no bash-completion helpers.

_mailport_copy_opts="--include --exclude --map --automap --preset --since --before
  --max-size --dry-run --delete --jobs --max-messages-per-second
  --max-bytes-per-second --state --no-state --repair --report --progress
  --no-progress --quiet --verbose --help"
_mailport_verify_opts="--include --exclude --map --automap --preset --since --before
  --max-size --state --no-state --repair --report --quiet --verbose --help"
_mailport_list_opts="--include --exclude --help"
_mailport_batch_opts="--shard --job --force --backup-to --upload-to
  $_mailport_copy_opts"
_mailport_state_opts="--all --state --help"
_mailport_schemes="maildir: mbox: imap:// imaps:// targz: targz-series: imap-backup:"

# Endpoint URLs for the word $1.
_mailport_endpoint() {
  local cur=$1 scheme path f
  case $cur in
    maildir:*|mbox:*|targz:*|targz-series:*|imap-backup:*)
      scheme=${cur%%:*}: path=${cur#*:}
      local -a files
      if [[ $scheme == maildir: || $scheme == imap-backup: ||
            $scheme == targz-series: ]]; then
        mapfile -t files < <(compgen -d -- "$path")
      else
        mapfile -t files < <(compgen -f -- "$path")
      fi
      for f in "${files[@]}"; do
        [[ -d $f ]] && f+=/
        COMPREPLY+=("$scheme$f")
      done
      compopt -o nospace 2>/dev/null
      ;;
    imap://*|imaps://*) ;;
    *)
      COMPREPLY=($(compgen -W "$_mailport_schemes" -- "$cur"))
      compopt -o nospace 2>/dev/null
      ;;
  esac
}

_mailport() {
  COMPREPLY=()
  local line words cur
  # The whole word under the cursor, colons included (COMP_WORDBREAKS splits
  # "maildir:PATH" into three words).
  if [[ -n ${COMP_LINE-} ]]; then
    line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
  else
    line="${COMP_WORDS[*]:0:COMP_CWORD+1}"
  fi
  read -ra words <<<"$line"
  if [[ $line =~ [[:space:]]$ ]]; then
    cur=
    words+=("")
  else
    cur=${words[${#words[@]}-1]}
  fi
  local cword=$((${#words[@]} - 1))
  local prev=${words[cword-1]-}
  local cmd=${words[1]-}

  if ((cword == 1)); then
    COMPREPLY=($(compgen -W "copy verify list batch plugins state --help --version" -- "$cur"))
    return 0
  fi

  case $prev in
    --state|--report)
      COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    --preset)
      COMPREPLY=($(compgen -W "gmail gmail:source gmail:dest office365
        office365:source office365:dest none none:source none:dest" -- "$cur"))
      _mailport_ltrim_colon "$cur"; return 0 ;;
    --backup-to|--upload-to)
      _mailport_endpoint "$cur"; _mailport_ltrim_colon "$cur"; return 0 ;;
    --include|--exclude|--map|--since|--before|--max-size|--jobs|\
    --max-messages-per-second|--max-bytes-per-second|--shard|--job)
      return 0 ;;
  esac

  local opts=
  case $cmd in
    copy) opts=$_mailport_copy_opts ;;
    verify) opts=$_mailport_verify_opts ;;
    list) opts=$_mailport_list_opts ;;
    batch) opts=$_mailport_batch_opts ;;
    state) opts=$_mailport_state_opts ;;
    plugins) opts=--help ;;
    *) return 0 ;;
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return 0
  fi

  case $cmd in
    copy|verify|list)
      _mailport_endpoint "$cur"; _mailport_ltrim_colon "$cur" ;;
    batch)
      COMPREPLY=($(compgen -f -- "$cur")) ;;
    state)
      if ((cword == 2)); then
        COMPREPLY=($(compgen -W "list forget" -- "$cur"))
      elif [[ ${words[2]} == forget ]]; then
        _mailport_endpoint "$cur"; _mailport_ltrim_colon "$cur"
      fi ;;
  esac
  return 0
}

# Readline replaces only the part after the last ':' (a COMP_WORDBREAKS
# character), so each completion loses what comes before it.
_mailport_ltrim_colon() {
  local cur=$1
  [[ $cur == *:* && ${COMP_WORDBREAKS-:} == *:* ]] || return 0
  local pre=${cur%"${cur##*:}"} i
  for i in "${!COMPREPLY[@]}"; do
    COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
  done
}

complete -F _mailport mailport
