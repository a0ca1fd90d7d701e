"""Train the domain CLIP with overrides and print held-out metrics. usage: train.py NAME key=value..."""
import sys, json, time, copy, os
import yaml, pandas as pd, torch
sys.path.insert(0, os.path.join(os.getcwd(), 'src'))
from rodin_pipelines.pipelines.encoder import nodes
from rodin_pipelines.datasets.avatar_folders import AvatarFolderDataset
name = sys.argv[1]
import open_clip
if os.environ.get('EXTRA_CLIP_CONFIGS'): open_clip.add_model_config(os.environ['EXTRA_CLIP_CONFIGS'])
enc = yaml.safe_load(open('conf/base/parameters_encoder.yml'))['encoder']
for kv in sys.argv[2:]:
    k, v = kv.split('=', 1)
    d = enc
    *path, last = k.split('.')
    for p in path: d = d[p]
    d[last] = yaml.safe_load(v)
enc['training']['trainer']['checkpoint_dir'] = f'/tmp/diag/ckpt_{name}'
enc['training']['trainer']['resume'] = None
enc['training']['trainer']['checkpoint_every_n_steps'] = 100000
index = pd.read_csv('data/01_raw/avatar_index.csv')
avatars = AvatarFolderDataset('data/01_raw/avatars', progress=False).load()
t = time.time()
w = nodes.train_domain_clip(avatars, index, enc)
train_s = time.time() - t
heldout = {k: v for k, v in avatars.items() if k in set(index[index.split == 'heldout'].avatar_id)}
train_sub = {k: avatars[k] for k in sorted(set(index[index.split == 'train'].avatar_id))[:48]}
enc['embeddings']['extra_views'] = 0
out = {'name': name, 'train_s': round(train_s, 1), 'overrides': sys.argv[2:]}
m = nodes.evaluate_clip(avatars, index, w, nodes.embed_avatars(heldout, w, enc), enc)
out.update({k: round(v, 3) for k, v in m.items() if 'chance' not in k})
idx_train = index.copy(); idx_train['split'] = idx_train['split'].map({'train': 'heldout', 'heldout': 'x'})
m2 = nodes.evaluate_clip(avatars, idx_train, w, nodes.embed_avatars(train_sub, w, enc), enc)
out.update({'train_' + k: round(v, 3) for k, v in m2.items() if 'zero_shot' in k and 'chance' not in k})
print(json.dumps(out))
os.makedirs(os.environ.get('OUT', '/tmp/diag'), exist_ok=True)
with open(os.path.join(os.environ.get('OUT', '/tmp/diag'), f'{name}.json'), 'w') as f: json.dump(out, f)
