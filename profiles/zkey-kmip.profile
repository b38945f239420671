# The zkey KMIP plugin's identity and wrapping keys, and the recovery of
# keys bound to it by a KMIP refresh; see mkagent-helpers(7). Settings are
# arguments of each exec line:
#   --repository DIR          the repository zkey uses (its ZKEY_REPOSITORY)
[profile]
description = zkey KMIP plugin
mk-types = cca-apka ep11
[reencipher]
exec = /usr/libexec/mkagent/mkagent-zkey-kmip --tool /usr/bin/zkey --repository /etc/zkey/repository reencipher
[finalize]
exec = /usr/libexec/mkagent/mkagent-zkey-kmip --tool /usr/bin/zkey --repository /etc/zkey/repository finalize
[recover]
exec = /usr/libexec/mkagent/mkagent-zkey-kmip --tool /usr/bin/zkey --repository /etc/zkey/repository recover
