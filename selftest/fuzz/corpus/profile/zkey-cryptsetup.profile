# LUKS2 volumes whose volume key is a zkey secure key of the APQNs; see
# mkagent-helpers(7).
[profile]
description = LUKS2 volumes (zkey-cryptsetup)
mk-types = cca-aes ep11
[reencipher]
exec = /usr/libexec/mkagent/mkagent-zkey-cryptsetup --zkey /usr/bin/zkey --tool /usr/bin/zkey-cryptsetup reencipher
[finalize]
exec = /usr/libexec/mkagent/mkagent-zkey-cryptsetup --zkey /usr/bin/zkey --tool /usr/bin/zkey-cryptsetup finalize
