# The zkey KMIP plugin's identity and wrapping keys, and the recovery of
# keys bound to it by a KMIP refresh; see mkagent-helpers(7).
[profile]
description = zkey KMIP plugin
mk-types = cca-apka ep11
[reencipher]
exec = /usr/libexec/mkagent/mkagent-zkey-kmip --tool /usr/bin/zkey reencipher
[finalize]
exec = /usr/libexec/mkagent/mkagent-zkey-kmip --tool /usr/bin/zkey finalize
[recover]
exec = /usr/libexec/mkagent/mkagent-zkey-kmip --tool /usr/bin/zkey recover
