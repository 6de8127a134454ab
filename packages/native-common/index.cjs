// Paths for binding.gyp: `<!(node -p "require('@nebula-ts/native-common').include")`.
const path = require('node:path');
module.exports = {
  include: path.join(__dirname, 'include'),
  pollerSource: path.join(__dirname, 'src', 'poller.cc'),
};
