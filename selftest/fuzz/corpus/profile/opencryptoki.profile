# openCryptoki CCA and EP11 tokens, through pkcshsm_mk_change; see
# mkagent-helpers(7). Token PINs come from the PIN helper of mkagent.conf(5),
# asked for by token label.
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
