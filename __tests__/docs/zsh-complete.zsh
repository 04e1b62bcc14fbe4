# Drives zsh's real completion for the tests: an interactive zsh in a pseudo-terminal
# (zpty) with compinit and the generated script ($1), types $2 and TAB, and prints what
# the terminal shows (escape sequences removed). Bounded: at most ~11 s in all.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1='' RPROMPT=''; autoload -Uz compinit; compinit -u -d ${(q)3}/zcompdump; source ${(q)1}"
zpty -w z "zstyle ':completion:*' list-prompt ''; LISTMAX=10000; unsetopt BEEP; print READY"
out=''
for i in {1..50}; do zpty -rt z chunk && out+=$chunk; [[ $out == *READY* ]] && break; sleep 0.1; done
zpty -w -n z "$2"$'\t'
# Read until the terminal has been quiet for 0.8 s (at most ~6 s).
out='' idle=0
for i in {1..60}; do
  if zpty -rt z chunk; then out+=$chunk; idle=0; else ((idle++)); sleep 0.1; fi
  (( idle >= 8 && ${#out} > 0 )) && break
done
print -r -- "$out" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' | tr '\r' '\n'
zpty -d z
