# openCryptoki CCA and EP11 tokens, through pkcshsm_mk_change; see
# mkagent-helpers(7). Token PINs come from the PIN helper of mkagent.conf(5),
# asked for by token label (without its trailing blanks); a label the PIN
# helper does not know makes the phase wait (exit 75), a wrong PIN fails it.
# A configured slot without a token makes pkcshsm_mk_change ask
# "Continue [y/N]?": the helper waits (exit 75) unless the slot is named by
# --continue-without-token=SLOT,SLOT on the exec lines below, e.g.
#   exec = ... --tool /usr/sbin/pkcshsm_mk_change --continue-without-token=2 reencipher
[profile]
description = openCryptoki CCA and EP11 tokens
mk-types = cca-sym cca-asym cca-aes cca-apka ep11
pin = yes
[reencipher]
exec = /usr/libexec/mkagent/mkagent-opencryptoki --tool /usr/sbin/pkcshsm_mk_change reencipher
timeout = 1800
[finalize]
exec = /usr/libexec/mkagent/mkagent-opencryptoki --tool /usr/sbin/pkcshsm_mk_change finalize
timeout = 1800
[cancel]
exec = /usr/libexec/mkagent/mkagent-opencryptoki --tool /usr/sbin/pkcshsm_mk_change cancel
timeout = 1800
