# Secure keys of the zkey repository associated with the APQNs; see
# mkagent-helpers(7).
[profile]
description = zkey secure key repository
mk-types = cca-aes ep11
[reencipher]
exec = /usr/libexec/mkagent/mkagent-zkey --tool /usr/bin/zkey --repository /etc/zkey/repository reencipher
[finalize]
exec = /usr/libexec/mkagent/mkagent-zkey --tool /usr/bin/zkey --repository /etc/zkey/repository finalize
[cancel]
exec = /usr/libexec/mkagent/mkagent-zkey --tool /usr/bin/zkey --repository /etc/zkey/repository cancel
[recover]
exec = /usr/libexec/mkagent/mkagent-zkey --tool /usr/bin/zkey --repository /etc/zkey/repository recover
