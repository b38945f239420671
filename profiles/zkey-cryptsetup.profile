# LUKS2 volumes whose volume key is a zkey secure key of the APQNs; see
# mkagent-helpers(7). The passphrase of each volume comes from the PIN
# helper of mkagent.conf(5) for the label luks:NAME (NAME: the device path
# without /dev/, every other / as _; /dev/dasdc1 is luks:dasdc1). Settings
# are arguments of each exec line:
#   --repository DIR          the repository zkey uses (its ZKEY_REPOSITORY)
#   --unassigned skip|include volumes of keys with no APQNs property: left
#                             (the default; named in the log) or re-enciphered too
[profile]
description = LUKS2 volumes (zkey-cryptsetup)
mk-types = cca-aes ep11
pin = yes
[reencipher]
exec = /usr/libexec/mkagent/mkagent-zkey-cryptsetup --zkey /usr/bin/zkey --tool /usr/bin/zkey-cryptsetup --repository /etc/zkey/repository reencipher
[finalize]
exec = /usr/libexec/mkagent/mkagent-zkey-cryptsetup --zkey /usr/bin/zkey --tool /usr/bin/zkey-cryptsetup --repository /etc/zkey/repository finalize
[recover]
exec = /usr/libexec/mkagent/mkagent-zkey-cryptsetup --zkey /usr/bin/zkey --tool /usr/bin/zkey-cryptsetup --repository /etc/zkey/repository recover
